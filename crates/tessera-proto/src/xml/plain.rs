//! A strict recogniser for the plain form of small, flat documents: ASCII element names with no
//! prefix, no attributes but a default namespace on the root, values of printable ASCII with
//! no space, no reference and no markup, and ASCII whitespace between elements. It says
//! `None` at the first thing outside that form, and the general reader takes the document.

/// A position in a document being recognised.
pub(super) struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// A byte a plain value may hold: printable ASCII but space and `<`, `>`, `&`.
fn is_value_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'<' | b'>' | b'&')
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Cursor { s: text.as_bytes(), at: 0 }
    }

    /// Skips ASCII whitespace.
    pub(super) fn skip_space(&mut self) {
        while self.s.get(self.at).copied().is_some_and(is_space) {
            self.at += 1;
        }
    }

    /// Consumes `token` if the input continues with it.
    pub(super) fn eat(&mut self, token: &str) -> bool {
        let ok = self.s[self.at..].starts_with(token.as_bytes());
        if ok {
            self.at += token.len();
        }
        ok
    }

    /// Whether the whole input is consumed.
    pub(super) fn at_end(&self) -> bool {
        self.at == self.s.len()
    }

    /// An XML declaration at the very start, of the plain form
    /// `<?xml version="1.0" encoding="UTF-8"?>` (letters, digits and `="'.-_:` inside).
    pub(super) fn declaration(&mut self) -> Option<()> {
        if self.at != 0 || !self.s.starts_with(b"<?xml") {
            return Some(());
        }
        let rest = &self.s[5..];
        if !rest.first().copied().is_some_and(is_space) {
            return None;
        }
        let end = rest.windows(2).position(|w| w == b"?>")?;
        let inside_ok = rest[..end].iter().all(|&b| {
            b.is_ascii_alphanumeric() || is_space(b) || matches!(b, b'=' | b'"' | b'\'' | b'.' | b'-' | b'_' | b':')
        });
        if !inside_ok {
            return None;
        }
        self.at = 5 + end + 2;
        Some(())
    }

    /// The start tag `<name>` or `<name xmlns="…">` of the root (the namespace value in plain
    /// ASCII without `"`, `<`, `&`).
    pub(super) fn root_start(&mut self, name: &str) -> Option<()> {
        if !(self.eat("<") && self.eat(name)) {
            return None;
        }
        if self.eat(">") {
            return Some(());
        }
        if !self.eat(" xmlns=\"") {
            return None;
        }
        let len = self.s[self.at..].iter().position(|&b| b == b'"')?;
        let value = &self.s[self.at..self.at + len];
        if !value.iter().all(|&b| matches!(b, 0x20..=0x7e) && !matches!(b, b'<' | b'&')) {
            return None;
        }
        self.at += len + 1;
        self.eat(">").then_some(())
    }

    /// A leaf element `<Name>value</Name>`: its name and value, both plain.
    pub(super) fn leaf(&mut self) -> Option<(&'a str, &'a str)> {
        if !self.eat("<") {
            return None;
        }
        let name_len = self.s[self.at..].iter().position(|&b| !b.is_ascii_alphanumeric())?;
        if name_len == 0 || !self.s[self.at].is_ascii_alphabetic() {
            return None;
        }
        let name = &self.s[self.at..self.at + name_len];
        self.at += name_len;
        if !self.eat(">") {
            return None;
        }
        let value_len = self.s[self.at..].iter().position(|&b| !is_value_byte(b))?;
        if value_len == 0 {
            return None;
        }
        let value = &self.s[self.at..self.at + value_len];
        self.at += value_len;
        if !(self.eat("</") && self.s[self.at..].starts_with(name)) {
            return None;
        }
        self.at += name_len;
        if !self.eat(">") {
            return None;
        }
        // Checked bytes: ASCII only.
        Some((std::str::from_utf8(name).ok()?, std::str::from_utf8(value).ok()?))
    }
}
