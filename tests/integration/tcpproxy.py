"""
A TCP proxy for the tests, to stand between a client (mlogin, the agent)
and the reflector and play a bad network: it forwards, stops forwarding
without closing anything (black hole: nothing is read, so nothing is
answered, as when traffic is silently dropped), forwards again (restore:
what was held goes on), or resets every connection (RST both ways).

    proxy = TcpProxy(("127.0.0.1", medusa.port))
    url = "ws://127.0.0.1:%d/attach/x/master" % proxy.port
    proxy.wait_connections(1)
    proxy.blackhole()      # the network goes silent
    proxy.blackhole_down() # only what the upstream sends is held
    proxy.restore()        # and comes back
    proxy.reset()          # or every connection is reset
    proxy.refusing = True  # new connections are reset as they come
    proxy.close()

Each connection is two threads, one per direction, each reading up to 64
KiB and writing it on; a black hole stops them between a read and its
write, so at most one read per direction is held.  New connections made
during a black hole are accepted (the kernel does that anyway) and wait.
"""
import socket
import struct
import threading
import time

from harness import TIMEOUT


class TcpProxy:

    def __init__(self, upstream, host="127.0.0.1"):
        self.upstream = upstream
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.flowing_down = threading.Event()   # upstream -> client
        self.flowing_down.set()
        self.lock = threading.Condition()
        self.pairs = []         # [client, upstream] sockets, live ones
        self.accepted = 0
        self.down = 0           # bytes forwarded to the clients, in all
        self.closed = False
        self.refusing = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
                c.close()
                continue
            try:
                u = socket.create_connection(self.upstream, TIMEOUT)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            # As the reflector and our ends: no Nagle (a small write
            # after a small write would wait for a delayed ACK, 40 ms,
            # which bench/resume.py's resume time once measured).
            for so in (c, u):
                so.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = {"socks": (c, u), "dead": False}
            with self.lock:
                self.pairs.append(pair)
                self.accepted += 1
                self.lock.notify_all()
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(pair, a, b),
                                 daemon=True).start()

    def _pump(self, pair, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if pair["dead"]:
                    return
                self.flowing.wait()
                if src is pair["socks"][1]:
                    self.flowing_down.wait()
                if pair["dead"]:
                    return
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
                if src is pair["socks"][1]:
                    with self.lock:
                        self.down += len(data)
                        self.lock.notify_all()
        except OSError:
            return

    def wait_connections(self, n, timeout=TIMEOUT):
        """Wait until n connections have been accepted in all."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.accepted < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the proxy saw %d connections, not %d"
                                         % (self.accepted, n))
                self.lock.wait(left)

    def wait_down(self, n, timeout=TIMEOUT):
        """Wait until n bytes in all have been forwarded to the clients
        (say, a 101 has reached the client, not only left the server)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.down < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the proxy forwarded %d bytes to "
                                         "the clients, not %d" % (self.down,
                                                                  n))
                self.lock.wait(left)

    def blackhole(self):
        """Stop forwarding, closing nothing."""
        self.flowing.clear()

    def blackhole_down(self):
        """Stop forwarding what the upstream sends (the client's bytes
        still go up), closing nothing."""
        self.flowing_down.clear()

    def restore(self):
        """Forward again, what was held first."""
        self.flowing.set()
        self.flowing_down.set()

    def reset(self):
        """Reset every live connection (RST to both ends)."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            pair["dead"] = True
            for s in pair["socks"]:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                    # Wakes a thread blocked in recv, sending nothing, so
                    # that the close below is the last reference: an RST.
                    s.shutdown(socket.SHUT_RD)
                except OSError:
                    pass
            for s in pair["socks"]:
                try:
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.flowing.set()
        self.flowing_down.set()
        try:
            self.listener.close()
        except OSError:
            pass
        self.reset()
