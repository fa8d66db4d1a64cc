"""The benchmarks' local HTTP server: the standard library's, listening with a backlog that holds a run's
connections.

socketserver listens with a backlog of 5 (`request_queue_size`, read once, when the server binds): a run
that opens twenty connections at once overflows it, and each dropped SYN is sent again a second later (the
kernel's first retransmission). That second is the benchmark's server, not the scraper: it showed as a
`once` of 1.4 s wall for 0.37 s of CPU. Setting the attribute on an instance after it is built changes
nothing, hence a class.
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class BackloggedHTTPServer(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True
