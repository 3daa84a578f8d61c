"""Compressed answers: brotli, or gzip for a client without it, for text bodies worth compressing (Flask-Compress)."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_compress import Compress

# text the app sends; images other than SVG, fonts in woff2 and anything zipped are compressed already
MIMETYPES = [
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "image/svg+xml",
    "text/plain",
    "text/csv",
]
ALGORITHMS = ["br", "gzip"]


def init_app(app: Flask) -> None:
    """Compress what the client accepts (Accept-Encoding): brotli, else gzip; bodies under 500 bytes stay plain."""
    for key, value in {
        "COMPRESS_MIMETYPES": MIMETYPES,
        "COMPRESS_ALGORITHM": ALGORITHMS,
        "COMPRESS_BR_LEVEL": 4,  # a board page in a few ms, and within a few % of brotli's best on HTML
        "COMPRESS_LEVEL": 6,
        "COMPRESS_MIN_SIZE": 500,  # below that the headers cost about what the bytes would save
        # a streamed body (a download written as it is produced) goes out as it comes, uncompressed: compressing
        # it would hold its chunks back; static files are read whole first, below, so they are compressed
        "COMPRESS_STREAMS": False,
        "COMPRESS_EVALUATE_CONDITIONAL_REQUEST": True,  # If-None-Match with the "etag:br" it sent answers 304
        "COMPRESS_REGISTER": False,  # _compress below calls it
    }.items():
        app.config.setdefault(key, value)
    compress = Compress(app)
    mimetypes = set(app.config["COMPRESS_MIMETYPES"])

    @app.after_request
    def _compress(response: Response) -> Response:
        if response.status_code == 206:  # a byte range of a static file: its offsets count plain bytes
            return response
        if request.accept_encodings.best_match(ALGORITHMS) is None:
            # nothing accepted, "gzip;q=0" included (which Flask-Compress would take as a yes)
            response.vary.add("Accept-Encoding")
            return response
        if response.direct_passthrough and response.status_code == 200 and response.mimetype in mimetypes:
            # a static file (at most tens of KB): read whole, so that it is compressed, and closed with the response
            response.direct_passthrough = False
            response.make_sequence()
        response = compress.after_request(response)
        if "Content-Encoding" in response.headers:
            # ranges of the compressed body are not offered: a range request gets the plain file's bytes
            response.headers.pop("Accept-Ranges", None)
        return response
