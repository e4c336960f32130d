"""Starting the ``sedbench annotate`` app: the session, a loopback socket, the token, uvicorn."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import sys
from pathlib import Path

from sedal.benchmark.commands.common import class_list
from sedal.benchmark.errors import BenchmarkError


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: a free one); a clear error when it cannot bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        raise BenchmarkError(f"cannot listen on {host}:{port} ({exc})") from None
    sock.listen(64)
    return sock


def serve_annotate(args, detector) -> int:
    """Run the app until Ctrl-C (the CLI's ``annotate``)."""
    import uvicorn

    from sedal.benchmark.practice.annotate import AnnotationSession
    from sedal.benchmark.practice.refit import RefitWorker
    from sedal.benchmark.practice.webapp import create_app

    if not 0 <= args.port <= 65535:
        raise BenchmarkError(f"--port must be in 0-65535, got {args.port}")
    sock = None if args.export else bind(args.host, args.port)
    labels = args.labels
    if args.annotator is not None:
        from sedal.core.errors import UnsafePathError
        from sedal.core.fsutil import check_component

        try:
            labels = Path(args.labels) / check_component(args.annotator, what="--annotator")
        except UnsafePathError as exc:
            raise BenchmarkError(str(exc)) from None
    session = AnnotationSession(args.audio, labels, annotator=args.annotator,
                                classes=class_list(args.classes),
                                detector=detector, strategy=args.strategy, k=args.k,
                                label_column=args.label_column, yamnet=args.yamnet,
                                cache_root=args.cache, random_state=args.seed,
                                progress=not args.quiet)
    for line in session.warnings:
        print(f"warning: {line}", file=sys.stderr)
    if args.export:
        res = session.export(args.out)
        print(f"wrote {res['labels']} ({res['recordings']} labelled recordings)"
              + (f" and {res['model']}" if res["model"] else
                 "; no model (the labels hold one class only)"))
        return 0
    token = secrets.token_urlsafe(32)
    port = sock.getsockname()[1]
    loop = is_loopback(args.host)
    if not loop:
        print(f"warning: serving on {args.host}: anyone who can reach this address and has "
              "the URL can read your recordings and write labels", file=sys.stderr)
    shown = args.host if ":" not in args.host else f"[{args.host}]"
    url = f"http://{shown}:{port}/?token={token}"
    app = create_app(session, token, out=args.out, worker=RefitWorker(session),
                     hosts=["127.0.0.1", "localhost", "::1"] if loop else ["*"])
    print(f"sedal annotate: {len(session.recordings)} recordings, "
          f"{len(session.events)} labelled; open {url}", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
