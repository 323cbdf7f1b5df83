//! The compiled tables: a segment trie of routes (static segments, one `:param` child, a
//! `*` mount per node) and a prefix trie of handler stacks; path normalization.
//!
//! Matching walks the path once, segment by segment, without allocating: static children
//! are a sorted vector searched by bisection, parameters are byte ranges kept in a fixed
//! array. A static segment wins over a parameter, a parameter over a `*` mount; the walk
//! backtracks when a more specific branch dead-ends.

use std::sync::Arc;

use std::cmp::Ordering;

use crate::MAX_PARAMS;
use crate::percent_decode_escape;

/// One node of the route trie.
#[derive(Clone)]
pub(crate) struct Node<T> {
    statics: Vec<(Box<str>, Self)>,
    param: Option<Box<(Box<str>, Self)>>,
    /// What a `*` mount here answers (the rest of the path, possibly empty).
    wildcard: Option<T>,
    /// What the path ending exactly here answers.
    value: Option<T>,
}

/// One segment of a route pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seg<'a> {
    Static(&'a str),
    Param(&'a str),
    Wildcard,
}

/// A successful match: the value and where its parameters and rest are in the path.
pub(crate) struct Found<'a, T> {
    pub(crate) value: &'a T,
    pub(crate) ranges: [(u32, u32); MAX_PARAMS],
    pub(crate) len: usize,
    pub(crate) rest: Option<usize>,
}

/// Parse a route pattern: `/`, `/a/b`, `/users/:id`, `/static/*`.
pub(crate) fn parse_pattern(pattern: &str) -> Result<Vec<Seg<'_>>, String> {
    let Some(tail) = pattern.strip_prefix('/') else {
        return Err(format!("route {pattern:?} does not start with '/'"));
    };
    let parts: Vec<&str> = tail.split('/').collect();
    let mut segs = Vec::with_capacity(parts.len());
    let mut params = 0;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if *part == "*" {
            if !last {
                return Err(format!("route {pattern:?}: '*' must be the last segment"));
            }
            segs.push(Seg::Wildcard);
        } else if let Some(name) = part.strip_prefix(':') {
            if name.is_empty() || name.contains([':', '*']) {
                return Err(format!("route {pattern:?}: bad parameter name {name:?}"));
            }
            params += 1;
            if params > MAX_PARAMS {
                return Err(format!(
                    "route {pattern:?}: more than {MAX_PARAMS} parameters"
                ));
            }
            segs.push(Seg::Param(name));
        } else if part.contains('*') || part.starts_with(':') {
            return Err(format!("route {pattern:?}: bad segment {part:?}"));
        } else {
            segs.push(Seg::Static(part));
        }
    }
    Ok(segs)
}

/// The parameter names of a parsed pattern, in order.
pub(crate) fn param_names(segs: &[Seg<'_>]) -> Arc<[Box<str>]> {
    segs.iter()
        .filter_map(|s| match s {
            Seg::Param(n) => Some(Box::<str>::from(*n)),
            _ => None,
        })
        .collect()
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Self {
            statics: Vec::new(),
            param: None,
            wildcard: None,
            value: None,
        }
    }
}

impl<T> Node<T> {
    /// The slot a pattern's value lives in, creating nodes on the way.
    pub(crate) fn slot(&mut self, segs: &[Seg<'_>]) -> Result<&mut Option<T>, String> {
        let Some((first, rest)) = segs.split_first() else {
            return Ok(&mut self.value);
        };
        match *first {
            Seg::Wildcard => Ok(&mut self.wildcard),
            Seg::Static(s) => {
                let i = match self.statics.binary_search_by(|(k, _)| key_cmp(k, s)) {
                    Ok(i) => i,
                    Err(i) => {
                        self.statics.insert(i, (s.into(), Self::default()));
                        i
                    }
                };
                self.statics[i].1.slot(rest)
            }
            Seg::Param(name) => {
                let p = self
                    .param
                    .get_or_insert_with(|| Box::new((name.into(), Self::default())));
                if &*p.0 != name {
                    return Err(format!(
                        "parameter :{name} conflicts with :{} at the same position",
                        p.0
                    ));
                }
                p.1.slot(rest)
            }
        }
    }

    /// The value for `path`, if any route matches it.
    pub(crate) fn lookup(&self, path: &str) -> Option<Found<'_, T>> {
        if !path.starts_with('/') {
            return None;
        }
        let mut ranges = [(0, 0); MAX_PARAMS];
        let mut len = 0;
        let (value, rest) = self.walk(path, 1, &mut ranges, &mut len)?;
        Some(Found {
            value,
            ranges,
            len,
            rest,
        })
    }

    /// Match the path from byte `pos` (the start of a segment; `len + 1` past the end).
    fn walk<'a>(
        &'a self,
        path: &str,
        pos: usize,
        ranges: &mut [(u32, u32); MAX_PARAMS],
        len: &mut usize,
    ) -> Option<(&'a T, Option<usize>)> {
        if pos > path.len() {
            if let Some(v) = &self.value {
                return Some((v, None));
            }
            return self.wildcard.as_ref().map(|w| (w, Some(path.len())));
        }
        let end = path[pos..].find('/').map_or(path.len(), |i| pos + i);
        let seg = &path[pos..end];
        if let Ok(i) = self.statics.binary_search_by(|(k, _)| key_cmp(k, seg)) {
            if let Some(r) = self.statics[i].1.walk(path, end + 1, ranges, len) {
                return Some(r);
            }
        }
        if let Some(p) = &self.param {
            if !seg.is_empty() && *len < MAX_PARAMS {
                ranges[*len] = (pos as u32, end as u32);
                *len += 1;
                if let Some(r) = p.1.walk(path, end + 1, ranges, len) {
                    return Some(r);
                }
                *len -= 1;
            }
        }
        self.wildcard.as_ref().map(|w| (w, Some(pos - 1)))
    }

    /// Every value in the trie.
    pub(crate) fn values(&self) -> Vec<&T> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a T>) {
        out.extend(self.value.iter());
        out.extend(self.wildcard.iter());
        for (_, n) in &self.statics {
            n.collect(out);
        }
        if let Some(p) = &self.param {
            p.1.collect(out);
        }
    }
}

/// A trie of handler stacks by path prefix: each node keeps its own handlers and the
/// whole stack from `/` down to it, computed when a handler is added.
#[derive(Clone)]
pub(crate) struct Prefix<T> {
    own: Vec<T>,
    chain: Arc<[T]>,
    children: Vec<(Box<str>, Self)>,
}

impl<T: Clone> Default for Prefix<T> {
    fn default() -> Self {
        Self {
            own: Vec::new(),
            chain: Arc::from(Vec::new()),
            children: Vec::new(),
        }
    }
}

impl<T: Clone> Prefix<T> {
    /// Add `item` to the stack of `prefix` (`/`, `/admin`, `/admin/`: whole segments).
    pub(crate) fn add(&mut self, prefix: &str, item: T) -> Result<(), String> {
        let Some(tail) = prefix.strip_prefix('/') else {
            return Err(format!("prefix {prefix:?} does not start with '/'"));
        };
        let mut node = &mut *self;
        for seg in tail.split('/').filter(|s| !s.is_empty()) {
            let i = match node.children.binary_search_by(|(k, _)| key_cmp(k, seg)) {
                Ok(i) => i,
                Err(i) => {
                    node.children.insert(i, (seg.into(), Self::default()));
                    i
                }
            };
            node = &mut node.children[i].1;
        }
        node.own.push(item);
        self.recompute(&[]);
        Ok(())
    }

    fn recompute(&mut self, parent: &[T]) {
        let chain: Vec<T> = parent.iter().chain(self.own.iter()).cloned().collect();
        for (_, c) in &mut self.children {
            c.recompute(&chain);
        }
        self.chain = chain.into();
    }

    /// The stack for `path`: the handlers of `/`, then of each deeper matching prefix.
    pub(crate) fn find(&self, path: &str) -> &Arc<[T]> {
        let mut node = self;
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            match node.children.binary_search_by(|(k, _)| key_cmp(k, seg)) {
                Ok(i) => node = &node.children[i].1,
                Err(_) => break,
            }
        }
        &node.chain
    }

    /// Whether no handler was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.own.is_empty() && self.children.is_empty()
    }
}

/// The order of static children: by length, then bytes (most comparisons end at the
/// length, without a `memcmp`).
fn key_cmp(key: &str, seg: &str) -> Ordering {
    key.len()
        .cmp(&seg.len())
        .then_with(|| key.as_bytes().cmp(seg.as_bytes()))
}

/// Normalize a request path for routing (RFC 3986 §6.2.2): decode percent-encoded
/// unreserved characters and remove `.` and `..` segments. `Ok(None)`: already normal
/// (the usual case, checked without allocating). `Err`: a `..` climbs above the root.
pub(crate) fn normalize(path: &str) -> Result<Option<String>, ()> {
    let bytes = path.as_bytes();
    let has_escape = bytes.contains(&b'%');
    let has_dot = bytes.windows(2).any(|w| w == b"/.");
    if !has_escape && !has_dot {
        return Ok(None);
    }
    let mut decoded = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(c) = percent_decode_escape(&bytes[i..]) {
                if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                    decoded.push(c as char);
                    i += 3;
                    continue;
                }
            }
        }
        // Copy one UTF-8 character.
        let ch_len = path[i..].chars().next().map_or(1, char::len_utf8);
        decoded.push_str(&path[i..i + ch_len]);
        i += ch_len;
    }
    let Some(tail) = decoded.strip_prefix('/') else {
        return Ok((decoded != path).then_some(decoded));
    };
    let mut out: Vec<&str> = Vec::new();
    let parts: Vec<&str> = tail.split('/').collect();
    let mut trailing_slash = false;
    for (i, seg) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match *seg {
            "." => trailing_slash = last,
            ".." => {
                if out.pop().is_none() {
                    return Err(());
                }
                trailing_slash = last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut norm = String::with_capacity(decoded.len());
    for s in &out {
        norm.push('/');
        norm.push_str(s);
    }
    if trailing_slash || norm.is_empty() {
        norm.push('/');
    }
    Ok((norm != path).then_some(norm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(patterns: &[&str]) -> Node<String> {
        let mut root = Node::default();
        for p in patterns {
            let segs = parse_pattern(p).unwrap();
            *root.slot(&segs).unwrap() = Some((*p).to_owned());
        }
        root
    }

    fn m(root: &Node<String>, path: &str) -> Option<(String, Vec<&'static str>, Option<usize>)> {
        let f = root.lookup(path)?;
        let params = f.ranges[..f.len]
            .iter()
            .map(|&(a, b)| &*path[a as usize..b as usize].to_owned().leak())
            .collect();
        Some((f.value.clone(), params, f.rest))
    }

    #[test]
    fn static_beats_param_beats_wildcard() {
        let t = table(&[
            "/",
            "/users",
            "/users/me",
            "/users/:id",
            "/users/:id/posts/:post",
            "/static/*",
            "/*",
        ]);
        assert_eq!(m(&t, "/").unwrap().0, "/");
        assert_eq!(m(&t, "/users").unwrap().0, "/users");
        assert_eq!(m(&t, "/users/me").unwrap().0, "/users/me");
        assert_eq!(
            m(&t, "/users/42").unwrap(),
            ("/users/:id".into(), vec!["42"], None)
        );
        assert_eq!(
            m(&t, "/users/42/posts/7").unwrap(),
            ("/users/:id/posts/:post".into(), vec!["42", "7"], None)
        );
        // Backtracking: `me` is static, but `/users/me/posts/1` only fits the param branch.
        assert_eq!(m(&t, "/users/me/posts/1").unwrap().1, vec!["me", "1"]);
        assert_eq!(
            m(&t, "/static/a/b.css").unwrap(),
            ("/static/*".into(), vec![], Some(7))
        );
        assert_eq!(m(&t, "/static").unwrap().2, Some(7));
        assert_eq!(
            m(&t, "/users/42/other").unwrap(),
            ("/*".into(), vec![], Some(0))
        );
        // An empty segment is never a parameter.
        assert_eq!(m(&t, "/users/").unwrap().0, "/*");
    }

    #[test]
    fn no_match_without_fallback() {
        let t = table(&["/a", "/b/:x"]);
        assert!(m(&t, "/c").is_none());
        assert!(m(&t, "/a/").is_none());
        assert!(m(&t, "/b").is_none());
        assert!(m(&t, "/b/1/2").is_none());
        assert!(m(&t, "*").is_none());
        assert!(m(&t, "").is_none());
    }

    #[test]
    fn bad_patterns_are_refused() {
        for p in [
            "",
            "a",
            "/a/*/b",
            "/:",
            "/a*",
            "/:a:b",
            "/1/:a/:b/:c/:d/:e/:f/:g/:h/:i",
        ] {
            assert!(parse_pattern(p).is_err(), "{p}");
        }
        let mut root: Node<()> = Node::default();
        root.slot(&parse_pattern("/u/:id").unwrap()).unwrap();
        assert!(root.slot(&parse_pattern("/u/:name").unwrap()).is_err());
    }

    #[test]
    fn prefix_stacks_run_from_root_down() {
        let mut p = Prefix::default();
        p.add("/", "root").unwrap();
        p.add("/foo/", "foo").unwrap();
        p.add("/foo/bar/baz", "baz").unwrap();
        p.add("/other", "other").unwrap();
        assert_eq!(p.find("/")[..], ["root"]);
        assert_eq!(p.find("/foo")[..], ["root", "foo"]);
        assert_eq!(p.find("/foo/bar")[..], ["root", "foo"]);
        assert_eq!(p.find("/foo/bar/baz/x")[..], ["root", "foo", "baz"]);
        assert_eq!(p.find("/foobar")[..], ["root"]);
        // Added later at the root: every chain sees it.
        p.add("/", "root2").unwrap();
        assert_eq!(p.find("/foo/bar/baz")[..], ["root", "root2", "foo", "baz"]);
    }

    #[test]
    fn normalization_resolves_dots_and_unreserved_escapes() {
        assert_eq!(normalize("/a/b"), Ok(None));
        assert_eq!(normalize("/a/./b"), Ok(Some("/a/b".into())));
        assert_eq!(normalize("/a/../b"), Ok(Some("/b".into())));
        assert_eq!(normalize("/a/b/.."), Ok(Some("/a/".into())));
        assert_eq!(normalize("/%61dmin/x"), Ok(Some("/admin/x".into())));
        assert_eq!(normalize("/a/%2e%2e/b"), Ok(Some("/b".into())));
        assert_eq!(normalize("/a%2Fb"), Ok(None));
        assert_eq!(normalize("/.."), Err(()));
        assert_eq!(normalize("/a/../../b"), Err(()));
        assert_eq!(normalize("/%2e%2e/etc/passwd"), Err(()));
        assert_eq!(normalize("/.hidden"), Ok(None));
    }
}
