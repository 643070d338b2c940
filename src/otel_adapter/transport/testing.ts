/**
 * Test support for the OTLP transports: a throwaway certificate authority and a server
 * certificate it signed for `localhost`/`127.0.0.1`, made with the `openssl` command.
 *
 * @module
 */

/** A server certificate and key, and the file of the CA that signed it. */
export interface TestCertificate extends AsyncDisposable {
  /** The server certificate (PEM). */
  readonly cert: string;
  /** The server's private key (PEM). */
  readonly key: string;
  /** The CA certificate (PEM). */
  readonly caCert: string;
  /** Path of a file holding {@link caCert}. */
  readonly caFile: string;
}

async function openssl(args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
    .output();
  if (!success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`);
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/**
 * Creates a CA and a server certificate valid for `localhost` and `127.0.0.1` in a temporary
 * directory, removed on dispose.
 *
 * @throws Error with openssl's message when it fails
 */
export async function testCertificate(): Promise<TestCertificate> {
  const dir = await Deno.makeTempDir({ prefix: "otlp-tls-" });
  const f = (name: string) => `${dir}/${name}`;
  try {
    await openssl([
      "req",
      "-x509",
      ...EC_KEY,
      "-days",
      "1",
      "-subj",
      "/CN=pgquerylens test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign",
      "-keyout",
      f("ca.key"),
      "-out",
      f("ca.pem"),
    ]);
    await openssl([
      "req",
      ...EC_KEY,
      "-subj",
      "/CN=localhost",
      "-keyout",
      f("server.key"),
      "-out",
      f("server.csr"),
    ]);
    await Deno.writeTextFile(
      f("server.ext"),
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      f("server.csr"),
      "-CA",
      f("ca.pem"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      f("server.ext"),
      "-out",
      f("server.pem"),
    ]);
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
  return {
    cert: await Deno.readTextFile(f("server.pem")),
    key: await Deno.readTextFile(f("server.key")),
    caCert: await Deno.readTextFile(f("ca.pem")),
    caFile: f("ca.pem"),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}
