"""E-mail: EML files and MBOX mailboxes.

Each message's subject, sender and date form its heading, so every chunk carries them and a
citation names the message. Attachments in a supported format are read by their own loader
and stored under a heading of their own ("Attachment: report.pdf"), so they are searched as
documents while the citation still leads to the mail that holds them.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import tempfile
from email.message import EmailMessage
from pathlib import Path

from ingest.errors import UnreadableFile
from ingest.types import Block

MAX_ATTACHMENT_DEPTH = 2


def message_heading(message: EmailMessage) -> str:
    subject = " ".join(str(message.get("subject", "") or "(no subject)").split())
    sender = " ".join(str(message.get("from", "") or "").split())
    date = " ".join(str(message.get("date", "") or "").split())
    details = ", ".join(x for x in (f"from {sender}" if sender else "", date) if x)
    return f"{subject} ({details})" if details else subject


def _body_blocks(message: EmailMessage, headings: tuple[str, ...]) -> list[Block]:
    from ingest.loaders.text import paragraphs
    from ingest.loaders.web import html_blocks

    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return []
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: fall back to the raw bytes
        content = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    if part.get_content_subtype() == "html":
        try:
            return [Block(b.text, headings=headings) for b in html_blocks(content)]
        except UnreadableFile:
            return []
    return [Block(p, headings=headings) for p in paragraphs(content.replace("\r\n", "\n"))]


def _attachment_blocks(message: EmailMessage, headings: tuple[str, ...], depth: int, read: dict) -> list[Block]:
    """``read``: how the message itself is read (password, ocr), passed on to its attachments."""
    from ingest.loaders import load_document, supported

    blocks: list[Block] = []
    for attachment in message.iter_attachments():
        name = Path(attachment.get_filename() or "").name
        if not name or not supported(Path(name)) or depth >= MAX_ATTACHMENT_DEPTH:
            continue
        data = attachment.get_payload(decode=True)
        if not data:
            continue
        with tempfile.TemporaryDirectory(prefix="rag-attachment-") as folder:
            file = Path(folder) / name
            file.write_bytes(data)
            try:
                document = load_document(file, **read, depth=depth + 1)
            except UnreadableFile:
                continue  # an unreadable attachment costs the attachment, not the mail
        for block in document.blocks:
            blocks.append(
                Block(
                    block.text,
                    page=block.page,
                    headings=headings + (f"Attachment: {name}",) + block.headings,
                    origin=block.origin,
                )
            )
    return blocks


def message_blocks(message: EmailMessage, depth: int = 0, read: dict | None = None) -> list[Block]:
    headings = (message_heading(message),)
    return _body_blocks(message, headings) + _attachment_blocks(message, headings, depth, read or {})


def load_eml(path: Path, *, depth: int = 0, **read: object) -> list[Block]:
    with path.open("rb") as stream:
        message = email.message_from_binary_file(stream, policy=email.policy.default)
    if not message.keys():
        raise UnreadableFile("not an e-mail message (no headers found)")
    blocks = message_blocks(message, depth, read)
    if not blocks:
        raise UnreadableFile("empty message (no text body or readable attachment)")
    return blocks


def load_mbox(path: Path, *, depth: int = 0, **read: object) -> list[Block]:
    box = mailbox.mbox(
        path, factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default), create=False
    )
    blocks: list[Block] = []
    try:
        for message in box:
            blocks.extend(message_blocks(message, depth, read))
    finally:
        box.close()
    if not blocks:
        raise UnreadableFile("empty mailbox (no messages with text)")
    return blocks
