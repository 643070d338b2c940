import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { testCertificate } from "./testing.ts";

Deno.test("test certificate: CA-signed, covers localhost and 127.0.0.1, removed on dispose", async () => {
  let dir: string;
  {
    await using tls = await testCertificate();
    dir = tls.caFile.slice(0, tls.caFile.lastIndexOf("/"));
    assert.equal(await Deno.readTextFile(tls.caFile), tls.caCert);
    assert.match(tls.key, /-----BEGIN PRIVATE KEY-----/);
    const server = new X509Certificate(tls.cert);
    const ca = new X509Certificate(tls.caCert);
    assert.equal(server.checkHost("localhost"), "localhost");
    assert.equal(server.checkIP("127.0.0.1"), "127.0.0.1");
    assert.equal(server.ca, false);
    assert.equal(ca.ca, true);
    assert.equal(server.checkIssued(ca), true);
    assert.equal(server.verify(ca.publicKey), true);
  }
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
});
