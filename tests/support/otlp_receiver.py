"""A real OTLP receiver for tests: PyPI oteltest's gRPC and HTTP sinks on given ports.

    python otlp_receiver.py --grpc-port N --http-port M --out FILE

Each request received (metrics, logs or traces, over gRPC or HTTP) is appended to FILE as one JSON
line, before the sender gets its answer (an HTTP body sent with `Content-Encoding: gzip` is
decompressed first, as an OpenTelemetry collector does; gRPC decompresses messages itself):

    {"signal": "metrics", "transport": "http", "headers": {...}, "request": <proto-JSON>}

where <proto-JSON> is the request in protobuf's JSON mapping (lowerCamelCase keys, 64-bit integers
as decimal strings, enums as integers). Once both sinks listen, one line goes to stdout:
{"grpcPort": N, "httpPort": M}. SIGTERM or SIGINT stops both sinks; a port that cannot be bound
exits with status 3 and a message on stderr.
"""

import argparse
import gzip
import json
import logging
import signal
import sys
import threading
import time

from google.protobuf.json_format import MessageToDict
from oteltest.sink import GrpcSink, HttpSink, PortInUseError, raise_if_port_in_use
from oteltest.sink.handler import RequestHandler

PORT_IN_USE = 3


class JsonLinesHandler(RequestHandler):
    """Writes every request it is handed to a shared JSON-lines file, tagged with its transport."""

    def __init__(self, out, lock, transport):
        self.out = out
        self.lock = lock
        self.transport = transport

    def _write(self, signal_name, request, headers):
        line = json.dumps(
            {
                "signal": signal_name,
                "transport": self.transport,
                "headers": {str(k): str(v) for k, v in dict(headers or {}).items()},
                "request": MessageToDict(request, use_integers_for_enums=True),
            }
        )
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def handle_logs(self, request, headers):
        self._write("logs", request, headers)

    def handle_metrics(self, request, headers):
        self._write("metrics", request, headers)

    def handle_trace(self, request, headers):
        self._write("traces", request, headers)


class GzipAwareHttpSink(HttpSink):
    """oteltest's HTTP sink, decompressing bodies sent with `Content-Encoding: gzip`."""

    @staticmethod
    def _decoded(post_data, headers):
        encoding = next((v for k, v in headers.items() if k.lower() == "content-encoding"), "")
        return gzip.decompress(post_data) if encoding.strip().lower() == "gzip" else post_data

    def handle_trace(self, post_data, headers):
        super().handle_trace(self._decoded(post_data, headers), headers)

    def handle_metrics(self, post_data, headers):
        super().handle_metrics(self._decoded(post_data, headers), headers)

    def handle_logs(self, post_data, headers):
        super().handle_logs(self._decoded(post_data, headers), headers)


def wait_for_http(sink, timeout_s=10.0):
    """True once the HTTP sink's server exists (it is created in the sink's own thread)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sink.httpd is not None:
            return True
        if not sink.svr_thread.is_alive():
            return False
        time.sleep(0.01)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logger = logging.getLogger("otlp_receiver")
    lock = threading.Lock()
    out = open(args.out, "a", encoding="utf-8")

    try:
        # grpcio binds with SO_REUSEPORT, so a second server on a taken port would not fail: check first.
        raise_if_port_in_use(args.grpc_port)
        raise_if_port_in_use(args.http_port)
    except PortInUseError as e:
        print(str(e), file=sys.stderr)
        sys.exit(PORT_IN_USE)
    try:
        grpc_sink = GrpcSink(JsonLinesHandler(out, lock, "grpc"), logger, port=args.grpc_port)
    except RuntimeError as e:
        print(f"grpc port {args.grpc_port}: {e}", file=sys.stderr)
        sys.exit(PORT_IN_USE)
    grpc_sink.start()
    http_sink = GzipAwareHttpSink(JsonLinesHandler(out, lock, "http"), logger, port=args.http_port)
    http_sink.start()
    if not wait_for_http(http_sink):
        print(f"http port {args.http_port}: could not listen", file=sys.stderr)
        grpc_sink.stop()
        sys.exit(PORT_IN_USE)

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    print(json.dumps({"grpcPort": args.grpc_port, "httpPort": args.http_port}), flush=True)
    stopped.wait()
    http_sink.stop()
    grpc_sink.stop()
    out.close()


if __name__ == "__main__":
    main()
