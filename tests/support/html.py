"""A page's HTML as an ElementTree, to find elements by path the way a
screen reader walks them (tables, their captions and header cells)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tree = ET.TreeBuilder()
        self.tree.start("root", {})

    def handle_starttag(self, tag, attrs):
        self.tree.start(tag, {name: value or "" for name, value in attrs})
        if tag in VOID:
            self.tree.end(tag)

    def handle_startendtag(self, tag, attrs):
        self.tree.start(tag, {name: value or "" for name, value in attrs})
        self.tree.end(tag)

    def handle_endtag(self, tag):
        if tag not in VOID:
            self.tree.end(tag)

    def handle_data(self, data):
        self.tree.data(data)


def parse_html(html: str) -> ET.Element:
    """The fragment or page under a <root> element (well-nested HTML only)."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    builder.tree.end("root")
    return builder.tree.close()
