import assert from "node:assert/strict";
import { join } from "node:path";
import {
  clearInstalledAssets,
  NATIVE_ASSET_NAMES,
  NATIVE_ASSETS,
  nativeAssetPath,
  nativeAssetProblem,
  setInstalledAssets,
  sourceAssetPath,
  withAssetProblem,
} from "./native_assets.ts";
import { repoRoot } from "../../tests/support/servers.ts";

Deno.test("every piece's embedded bytes are its build output in the source tree", async () => {
  for (const asset of NATIVE_ASSET_NAMES) {
    const spec = NATIVE_ASSETS[asset];
    assert.equal(sourceAssetPath(asset), join(repoRoot(), spec.sourcePath));
    assert.deepEqual(await spec.load(), await Deno.readFile(sourceAssetPath(asset)), asset);
  }
});

Deno.test("paths point at the source tree until pieces are installed, then at the copies", () => {
  try {
    assert.equal(nativeAssetPath("bpf_loader"), sourceAssetPath("bpf_loader"));
    assert.equal(nativeAssetProblem("reader"), undefined);
    assert.equal(withAssetProblem("reader", "cannot load"), "cannot load");
    setInstalledAssets({ bpf_loader: "/x/libpgquerylens_bpf.so" }, { reader: "cannot extract: full disk" });
    assert.equal(nativeAssetPath("bpf_loader"), "/x/libpgquerylens_bpf.so");
    assert.equal(nativeAssetPath("reader"), sourceAssetPath("reader"));
    assert.equal(withAssetProblem("reader", "cannot load"), "cannot load (cannot extract: full disk)");
  } finally {
    clearInstalledAssets();
  }
  assert.equal(nativeAssetPath("bpf_loader"), sourceAssetPath("bpf_loader"));
});
