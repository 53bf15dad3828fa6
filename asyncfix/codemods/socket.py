"""socket: raw sockets, TLS sockets and DNS look-ups on the loop."""

from asyncfix.catalog import Category, Doc, Rule, Types

SOCKET, SSL_SOCKET = "socket.socket", "ssl.SSLSocket"

CATEGORY = Category(
    name="socket",
    section="1.4",
    title="Blocking sockets and DNS",
    doc=Doc(
        what="Flags blocking `socket.socket` and `ssl.SSLSocket` methods (`connect`, `recv`, "
        "`sendall`, ...), `socket.create_connection` and DNS look-ups (`getaddrinfo`, "
        "`gethostbyname`, ...) inside `async def`.",
        why="A blocking socket waits for the network; a DNS look-up can take seconds when a "
        "resolver is slow. The loop waits with it.",
        example="async def ping(host: str):\n"
        "    sock = socket.create_connection((host, 80))\n"
        "    sock.sendall(b'HEAD / HTTP/1.0\\r\\n\\r\\n')\n"
        "    return sock.recv(1024)",
        instead="`asyncio.open_connection` / `loop.getaddrinfo`, or the whole exchange in a "
        "sync helper via `asyncio.to_thread`.",
        fix_safety="Safe through `asyncio.to_thread` when the socket is created and closed "
        "inside the helper.",
        imports="import socket",
    ),
    rules=(
        Rule(
            code="AF611",
            message="`{name}` does blocking socket I/O on the event loop",
            functions=("socket.create_connection", "socket.create_server"),
            methods={
                SOCKET: ("connect", "accept", "send", "sendall", "sendto", "recv", "recv_into",
                         "recvfrom", "recvfrom_into", "recvmsg", "sendmsg", "sendfile"),
                SSL_SOCKET: ("write", "send", "sendall", "read", "recv", "recv_into",
                             "do_handshake", "connect"),
                # wrapping a connected socket runs the TLS handshake
                "ssl.SSLContext": ("wrap_socket",),
            },
            nonblocking_kwargs=("do_handshake_on_connect",),
            nonblocking_flag="MSG_DONTWAIT",  # sock.recv(n, socket.MSG_DONTWAIT)
        ),
        Rule(
            code="AF612",
            message="`{name}` resolves a host name on the event loop",
            functions=("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                       "socket.gethostbyaddr", "socket.getnameinfo", "socket.getfqdn"),
        ),
    ),
    types=Types(
        returns={
            "socket.socket": SOCKET,
            "socket.create_connection": SOCKET,
            "socket.create_server": SOCKET,
            "ssl.create_default_context": "ssl.SSLContext",
            "ssl.SSLContext": "ssl.SSLContext",
            "ssl.SSLContext.wrap_socket": SSL_SOCKET,
        },
    ),
)
