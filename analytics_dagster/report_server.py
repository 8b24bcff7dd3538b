"""``python -m analytics_dagster.report_server``: serves the local object-store folder read-only over http.

``make dev`` starts it beside the Dagster UI so the report links in asset metadata (dashboards, exports, replay
reports, raw-day manifests) open in the browser. It binds to 127.0.0.1; to reach it from elsewhere, put a reverse
proxy in front and set ``REPORTS_BASE_URL`` to the proxy's URL (the links in metadata are built from it). With
``S3_BUCKET`` set the links are presigned S3 URLs and this server is not needed.
"""

import argparse
from urllib.parse import urlsplit

from analytics_dagster.lib.object_store import LOCAL_REPORTS_BASE_URL
from analytics_dagster.lib.report_server import make_server
from analytics_dagster.settings import ObjectStoreSettings, data_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m analytics_dagster.report_server",
        description="Serves the local object-store folder read-only over http, so report links in asset metadata open.",
    )
    parser.add_argument("--root", default=str(data_dir() / "objects"), help="the object-store folder to serve")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=urlsplit(LOCAL_REPORTS_BASE_URL).port, help="port to bind (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    server = make_server(args.root, args.host, args.port)
    host, port = server.server_address[:2]
    links = ObjectStoreSettings.read().reports_base_url
    print(f"Serving {args.root} read-only on http://{host}:{port} (metadata links use {links})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
