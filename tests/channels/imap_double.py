"""A small, faithful IMAP4rev1 server on loopback: enough of RFC 3501 for imaplib and our poller.

Commands: CAPABILITY, NOOP, LOGIN, SELECT/EXAMINE, SEARCH (ALL, UNSEEN, SEEN), FETCH (RFC822 — which sets \\Seen,
as the RFC says — BODY[], BODY.PEEK[], FLAGS, UID), STORE (+FLAGS, -FLAGS, FLAGS, .SILENT), each also under UID,
CLOSE, LOGOUT. Literals are sent as {n}CRLF<bytes>. Every command line is recorded for assertions.
"""
from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class ImapDouble:
    def __init__(self, username: str = "madoguchi", password: str = "imap-pass", mailbox: str = "INBOX") -> None:
        self.username, self.password, self.mailbox = username, password, mailbox
        self.messages: list[StoredMessage] = []
        self.commands: list[str] = []
        self._lock = threading.Lock()
        self._next_uid = 101  # UIDs are not sequence numbers: start elsewhere so a mix-up shows
        double = self

        class Handler(socketserver.StreamRequestHandler):
            wbufsize = 65536  # buffered, flushed per response: many tiny writes would meet Nagle + delayed ACK

            def handle(self) -> None:
                _Session(double, self.rfile, self.wfile).run()

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def deliver(self, raw: bytes) -> int:
        with self._lock:
            message = StoredMessage(self._next_uid, raw)
            self._next_uid += 1
            self.messages.append(message)
            return message.uid

    def flags_of(self, uid: int) -> set[str]:
        return next(m.flags for m in self.messages if m.uid == uid)

    def __enter__(self) -> ImapDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\((?:[^()]|\([^()]*\))*\))|(\S+)')


def _tokens(text: str) -> list[str]:
    found = []
    for quoted, group, atom in TOKEN.findall(text):
        found.append(re.sub(r"\\(.)", r"\1", quoted) if quoted else (group or atom))
    return found


class _Session:
    def __init__(self, double: ImapDouble, rfile, wfile) -> None:
        self.double, self.rfile, self.wfile = double, rfile, wfile
        self.authenticated = False
        self.selected = False

    def run(self) -> None:
        self._send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] madoguchi IMAP test double ready")
        self.wfile.flush()
        while True:
            line = self.rfile.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            with self.double._lock:
                self.double.commands.append(text)
                keep_going = self._command(text)
            if not keep_going:
                return

    def _command(self, text: str) -> bool:
        parts = text.split(" ", 2)
        if len(parts) < 2:
            self._send(b"* BAD missing command")
            self.wfile.flush()
            return True
        tag, command, rest = parts[0], parts[1].upper(), parts[2] if len(parts) > 2 else ""
        by_uid = command == "UID"
        if by_uid:
            command, _, rest = rest.partition(" ")
            command = command.upper()
        handler = getattr(self, f"_cmd_{command.lower()}", None)
        if handler is None:
            self._tagged(tag, "BAD", f"{command} not supported by this double")
            return True
        if command not in ("CAPABILITY", "NOOP", "LOGIN", "LOGOUT") and not self.authenticated:
            self._tagged(tag, "NO", "not authenticated")
            return True
        if command in ("SEARCH", "FETCH", "STORE", "CLOSE") and not self.selected:
            self._tagged(tag, "BAD", "no mailbox selected")
            return True
        return handler(tag, rest, by_uid) is not False

    # -- commands ---------------------------------------------------------------------------------------------

    def _cmd_capability(self, tag: str, rest: str, by_uid: bool) -> None:
        self._send(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN")
        self._tagged(tag, "OK", "CAPABILITY completed")

    def _cmd_noop(self, tag: str, rest: str, by_uid: bool) -> None:
        self._tagged(tag, "OK", "NOOP completed")

    def _cmd_login(self, tag: str, rest: str, by_uid: bool) -> None:
        args = _tokens(rest)
        if args[:2] == [self.double.username, self.double.password]:
            self.authenticated = True
            self._tagged(tag, "OK", "LOGIN completed")
        else:
            self._tagged(tag, "NO", "[AUTHENTICATIONFAILED] Invalid credentials")

    def _cmd_select(self, tag: str, rest: str, by_uid: bool) -> None:
        name = _tokens(rest)[0] if rest else ""
        if name.upper() != self.double.mailbox.upper():
            self._tagged(tag, "NO", "[NONEXISTENT] no such mailbox")
            return
        self.selected = True
        messages = self.double.messages
        unseen = next((i for i, m in enumerate(messages, 1) if "\\Seen" not in m.flags), None)
        self._send(f"* {len(messages)} EXISTS".encode())
        self._send(b"* 0 RECENT")
        if unseen:
            self._send(f"* OK [UNSEEN {unseen}] first unseen".encode())
        self._send(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
        self._send(b"* OK [UIDVALIDITY 3857529045] UIDs valid")
        self._send(f"* OK [UIDNEXT {self.double._next_uid}] predicted next UID".encode())
        self._tagged(tag, "OK", "[READ-WRITE] SELECT completed")

    _cmd_examine = _cmd_select

    def _cmd_search(self, tag: str, rest: str, by_uid: bool) -> None:
        criteria = [c.upper() for c in _tokens(rest) if c.upper() not in ("CHARSET", "UTF-8", "US-ASCII")]
        wanted = {"ALL": lambda m: True, "UNSEEN": lambda m: "\\Seen" not in m.flags,
                  "SEEN": lambda m: "\\Seen" in m.flags}
        if any(c not in wanted for c in criteria):
            self._tagged(tag, "BAD", "search criterion not supported by this double")
            return
        hits = [(i, m) for i, m in enumerate(self.double.messages, 1) if all(wanted[c](m) for c in criteria)]
        numbers = " ".join(str(m.uid if by_uid else i) for i, m in hits)
        self._send(f"* SEARCH {numbers}".rstrip().encode())
        self._tagged(tag, "OK", "SEARCH completed")

    def _cmd_fetch(self, tag: str, rest: str, by_uid: bool) -> None:
        sequence, _, items = rest.partition(" ")
        items = items.strip().strip("()").upper()
        for number, message in self._select_set(sequence, by_uid):
            self._fetch_one(number, message, items, by_uid)
        self._tagged(tag, "OK", "FETCH completed")

    def _fetch_one(self, number: int, message: StoredMessage, items: str, by_uid: bool) -> None:
        head = []
        if by_uid or "UID" in items.split():
            head.append(f"UID {message.uid}")
        words = items.split()
        wants_body = "BODY[]" in items.replace(".PEEK", "")
        literal_name = "RFC822" if "RFC822" in words else "BODY[]" if wants_body else None
        marks_seen = literal_name is not None and "PEEK" not in items
        if marks_seen:
            message.flags.add("\\Seen")  # a non-PEEK fetch of the body marks the message read (RFC 3501 6.4.5)
        if "FLAGS" in words or marks_seen:
            head.append(f"FLAGS ({' '.join(sorted(message.flags))})")
        prefix = f"* {number} FETCH ({' '.join(head)}"
        if literal_name:
            prefix += f"{' ' if head else ''}{literal_name} {{{len(message.raw)}}}"
            self.wfile.write(prefix.encode() + b"\r\n" + message.raw + b")\r\n")
        else:
            self._send((prefix + ")").encode())

    def _cmd_store(self, tag: str, rest: str, by_uid: bool) -> None:
        sequence, operation, flags = (rest.split(" ", 2) + ["", ""])[:3]
        names = set(flags.strip().strip("()").split())
        silent = operation.upper().endswith(".SILENT")
        mode = operation.upper().removesuffix(".SILENT")
        if mode not in ("+FLAGS", "-FLAGS", "FLAGS"):
            self._tagged(tag, "BAD", "bad STORE operation")
            return
        for number, message in self._select_set(sequence, by_uid):
            if mode == "+FLAGS":
                message.flags |= names
            elif mode == "-FLAGS":
                message.flags -= names
            else:
                message.flags = set(names)
            if not silent:
                uid = f"UID {message.uid} " if by_uid else ""
                self._send(f"* {number} FETCH ({uid}FLAGS ({' '.join(sorted(message.flags))}))".encode())
        self._tagged(tag, "OK", "STORE completed")

    def _cmd_close(self, tag: str, rest: str, by_uid: bool) -> None:
        self.selected = False
        self._tagged(tag, "OK", "CLOSE completed")

    def _cmd_logout(self, tag: str, rest: str, by_uid: bool) -> bool:
        self._send(b"* BYE madoguchi IMAP test double logging out")
        self._tagged(tag, "OK", "LOGOUT completed")
        return False

    # -- helpers ----------------------------------------------------------------------------------------------

    def _select_set(self, sequence: str, by_uid: bool) -> list[tuple[int, StoredMessage]]:
        numbered = list(enumerate(self.double.messages, 1))
        keys = [m.uid if by_uid else i for i, m in numbered]
        highest = max(keys, default=0)
        chosen: set[int] = set()
        for part in sequence.split(","):
            low, _, high = part.partition(":")
            low_n = highest if low == "*" else int(low)
            high_n = low_n if not high else (highest if high == "*" else int(high))
            chosen |= set(range(min(low_n, high_n), max(low_n, high_n) + 1))
        return [(i, m) for (i, m), key in zip(numbered, keys, strict=True) if key in chosen]

    def _tagged(self, tag: str, status: str, text: str) -> None:
        self._send(f"{tag} {status} {text}".encode())
        self.wfile.flush()  # the tagged line completes a response: send it all now

    def _send(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")
