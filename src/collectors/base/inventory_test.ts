import assert from "node:assert/strict";
import type { CollectionIssue } from "../../core/model.ts";
import { encodeBaseDocument } from "../../nri_adapter/base.ts";
import { isOwnStatement, MARKER } from "../../query_engine/marker.ts";
import { startCluster } from "../../../tests/support/cluster.ts";
import { assertValidDocuments } from "../../../tests/support/schema.ts";
import { matrixServers } from "../../../tests/support/servers.ts";
import { Ajv } from "ajv";
import inventorySchema from "../../../tests/schemas/inventory.schema.json" with { type: "json" };
import { collectInventory, INVENTORY_SQL, MAX_INVENTORY_KEY_LENGTH, settingsInventory } from "./inventory.ts";

const OPTS = { integrationVersion: "0.0.0", pretty: false, addHostname: false };
const validateInventory = new Ajv({ strict: false, allErrors: true }).compile(inventorySchema);

/** Throws listing every violation of the inventory schema. */
function assertValidInventory(doc: unknown): void {
  if (validateInventory(doc)) return;
  const errors = (validateInventory.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
  throw new Error(`inventory.schema.json: ${errors.slice(0, 20).join("; ")}`);
}

Deno.test("inventory: the statement carries the collector's marker", () => {
  assert.ok(INVENTORY_SQL.startsWith(MARKER));
  assert.ok(isOwnStatement(INVENTORY_SQL));
});

for (const server of matrixServers()) {
  Deno.test(`inventory on ${server.id}: three items per pg_settings row, NULLs kept, document valid`, async () => {
    await using cluster = await startCluster({ server, name: `inv-${server.id}` });
    const sql = cluster.sql();
    await sql.unsafe("SET work_mem = '8MB'");
    const issues: CollectionIssue[] = [];
    const inventory = await collectInventory(sql, (i) => issues.push(i));
    assert.deepEqual(issues, []);

    const [{ n }] = await sql.unsafe("SELECT count(*)::int AS n FROM pg_settings");
    assert.ok(n > 200, `precondition: pg_settings has its usual few hundred rows, got ${n}`);
    assert.equal(inventory.size, 3 * n);
    const names = new Set([...inventory.keys()].map((k) => k.slice(0, k.lastIndexOf("/"))));
    assert.equal(names.size, n);
    for (const name of names) {
      for (const column of ["setting", "boot_val", "reset_val"]) {
        assert.ok(inventory.has(`${name}/${column}`), `${name}/${column} is missing`);
      }
    }

    assert.ok(inventory.has("config_file/boot_val"));
    assert.equal(inventory.get("config_file/boot_val"), null);
    const [{ config_file }] = await sql.unsafe("SELECT current_setting('config_file') AS config_file");
    assert.equal(inventory.get("config_file/setting"), config_file);
    // The session's own value is the setting; the value a RESET would restore is the server's.
    assert.equal(inventory.get("work_mem/setting"), "8192");
    assert.equal(inventory.get("work_mem/reset_val"), "4096");
    assert.equal(inventory.get("work_mem/boot_val"), "4096");
    assert.equal(inventory.get("port/setting"), String(cluster.port));
    for (const [key, value] of inventory) {
      assert.ok(value === null || typeof value === "string", `${key} has a ${typeof value} value`);
    }

    const { document, dropped } = encodeBaseDocument({
      instance: { name: `127.0.0.1:${cluster.port}`, type: "pg-instance", idAttributes: [] },
      samples: [],
      inventory,
    }, OPTS);
    assert.deepEqual(dropped, []);
    const [parsed] = assertValidDocuments(document);
    assertValidInventory(parsed.doc);
    // The inventory schema allows null only where PostgreSQL leaves a value NULL.
    const broken = structuredClone(parsed.doc) as {
      data: { inventory: Record<string, { value: unknown }> }[];
    };
    broken.data[0].inventory["work_mem/boot_val"] = { value: null };
    assert.throws(() => assertValidInventory(broken), /work_mem~1boot_val\/value must be string/);
    const items =
      (parsed.doc as { data: { inventory: Record<string, { value: unknown }> }[] }).data[0].inventory;
    assert.equal(Object.keys(items).length, 3 * n);
    assert.deepEqual(items["config_file/boot_val"], { value: null });
    assert.deepEqual(items["work_mem/setting"], { value: "8192" });
  });
}

Deno.test("inventory: each row gives three items; NULL becomes null; other values become text", () => {
  const inventory = settingsInventory([
    { name: "max_connections", setting: "100", boot_val: "100", reset_val: "100" },
    { name: "config_file", setting: "/etc/pg.conf", boot_val: null, reset_val: "/etc/pg.conf" },
    { name: "odd", setting: 5, boot_val: undefined, reset_val: "" },
  ]);
  assert.deepEqual([...inventory], [
    ["max_connections/setting", "100"],
    ["max_connections/boot_val", "100"],
    ["max_connections/reset_val", "100"],
    ["config_file/setting", "/etc/pg.conf"],
    ["config_file/boot_val", null],
    ["config_file/reset_val", "/etc/pg.conf"],
    ["odd/setting", "5"],
    ["odd/boot_val", null],
    ["odd/reset_val", ""],
  ]);
  assert.equal(settingsInventory([]).size, 0);
});

Deno.test("inventory: keys longer than the SDK limit (in UTF-8 bytes) are left out and reported once", () => {
  // `<name>/setting` is exactly at the limit; `/boot_val` and `/reset_val` are one and two bytes over.
  const atLimit = "x".repeat(MAX_INVENTORY_KEY_LENGTH - "/setting".length);
  // 373 characters but 376 bytes: `é` is two bytes in UTF-8, so even `/setting` is over.
  const multibyte = "é".repeat(3) + "y".repeat(MAX_INVENTORY_KEY_LENGTH - "/setting".length - 3);
  const issues: CollectionIssue[] = [];
  const inventory = settingsInventory([
    { name: "a", setting: "1", boot_val: "1", reset_val: "1" },
    { name: atLimit, setting: "on", boot_val: "off", reset_val: "off" },
    { name: multibyte, setting: "on", boot_val: "off", reset_val: "off" },
  ], (i) => issues.push(i));
  assert.equal(`${atLimit}/setting`.length, MAX_INVENTORY_KEY_LENGTH);
  assert.equal(`${multibyte}/setting`.length, MAX_INVENTORY_KEY_LENGTH);
  assert.deepEqual([...inventory.keys()], ["a/setting", "a/boot_val", "a/reset_val", `${atLimit}/setting`]);
  assert.equal(inventory.get(`${atLimit}/setting`), "on");
  assert.equal(issues.length, 1);
  assert.equal(issues[0].severity, "warning");
  assert.equal(issues[0].component, "inventory");
  assert.equal(issues[0].cause, "inventory.key_too_long");
  assert.match(issues[0].message, /left out 5 item\(s\) whose key is longer than 375 bytes/);

  const silent: CollectionIssue[] = [];
  settingsInventory([{ name: "a", setting: "1", boot_val: "1", reset_val: "1" }], (i) => silent.push(i));
  assert.deepEqual(silent, [], "nothing is reported when nothing is skipped");
});

Deno.test("inventory: a row without a setting name is an error naming the row", () => {
  assert.throws(
    () => settingsInventory([{ name: "", setting: "1", boot_val: "1", reset_val: "1" }]),
    /pg_settings row without a setting name: \{"name":""/,
  );
  assert.throws(() => settingsInventory([{ setting: "1" }]), /without a setting name/);
});

Deno.test("inventory: a failing query rejects", async () => {
  await using cluster = await startCluster({ name: "inv-fail" });
  const sql = cluster.sql();
  await sql.end();
  await assert.rejects(collectInventory(sql));
});
