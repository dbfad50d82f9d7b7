//! A minimal element tree, the common input of the XML and the mc JSON
//! readers: both documents are first turned into elements with names, text and
//! children, then `decode` validates one shape. Keeping one validator means
//! XML and JSON refuse the same mistakes with the same errors.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::error::{malformed, LifecycleError};

/// One element: its local name (namespace prefix dropped), its text (only
/// meaningful for leaves) and its child elements in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    pub fn leaf(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
            children: Vec::new(),
        }
    }

    /// Refuses children not in `allowed` and stray text beside child elements.
    pub fn expect_only(&self, allowed: &[&str]) -> Result<(), LifecycleError> {
        if let Some(child) = self
            .children
            .iter()
            .find(|c| !allowed.contains(&c.name.as_str()))
        {
            return Err(malformed(format!(
                "unexpected element <{}> in <{}>",
                child.name, self.name
            )));
        }
        if !self.text.trim().is_empty() {
            return Err(malformed(format!("unexpected text in <{}>", self.name)));
        }
        Ok(())
    }

    /// The child named `name`, if present; two of them is malformed.
    pub fn single(&self, name: &str) -> Result<Option<&Node>, LifecycleError> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(malformed(format!(
                "<{name}> appears more than once in <{}>",
                self.name
            )));
        }
        Ok(first)
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of a leaf element, verbatim (prefixes may carry spaces).
    pub fn leaf_text(&self) -> Result<&str, LifecycleError> {
        if !self.children.is_empty() {
            return Err(malformed(format!(
                "<{}> must not contain elements",
                self.name
            )));
        }
        Ok(&self.text)
    }

    /// The text of the single child `name`, if present.
    pub fn child_text(&self, name: &str) -> Result<Option<&str>, LifecycleError> {
        self.single(name)?.map(Node::leaf_text).transpose()
    }

    /// The text of the single child `name`, which must be present.
    pub fn required_text(&self, name: &str) -> Result<&str, LifecycleError> {
        self.child_text(name)?
            .ok_or_else(|| malformed(format!("<{}> requires <{name}>", self.name)))
    }
}

/// Parses an XML document into its root element.
pub(crate) fn parse_xml(bytes: &[u8]) -> Result<Node, LifecycleError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = Reader::from_reader(bytes);
    let mut open: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let bad = |e: &dyn std::fmt::Display| malformed(format!("XML is not well-formed: {e}"));

    loop {
        let event = reader.read_event().map_err(|e| bad(&e))?;
        match event {
            Event::Start(start) => {
                let name = std::str::from_utf8(start.local_name().as_ref())
                    .map_err(|e| bad(&e))?
                    .to_owned();
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                open.push(Node::new(name));
            }
            Event::Empty(start) => {
                let name = std::str::from_utf8(start.local_name().as_ref())
                    .map_err(|e| bad(&e))?
                    .to_owned();
                attach(&mut open, &mut root, Node::new(name))?;
            }
            Event::End(_) => {
                let node = open.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                attach(&mut open, &mut root, node)?;
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(|e| bad(&e))?;
                match open.last_mut() {
                    Some(node) => node.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(data) => {
                let data = data.into_inner();
                let text = std::str::from_utf8(&data).map_err(|e| bad(&e))?;
                match open.last_mut() {
                    Some(node) => node.text.push_str(text),
                    None => return Err(malformed("CDATA outside the root element")),
                }
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !open.is_empty() {
        return Err(malformed("XML ended inside an element"));
    }
    root.ok_or_else(|| malformed("the document is empty"))
}

fn attach(open: &mut [Node], root: &mut Option<Node>, node: Node) -> Result<(), LifecycleError> {
    match open.last_mut() {
        Some(parent) => parent.children.push(node),
        None if root.is_none() => *root = Some(node),
        None => return Err(malformed("more than one root element")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_elements_keep_order_text_and_drop_namespaces() {
        let root = parse_xml(
            br#"<?xml version="1.0"?><a:Root xmlns:a="urn:x"><B>one &amp; two</B><C/><B> sp </B></a:Root>"#,
        )
        .unwrap();
        assert_eq!(root.name, "Root");
        assert_eq!(root.children.len(), 3);
        assert_eq!(root.children[0].text, "one & two");
        assert_eq!(root.children[1], Node::new("C"));
        assert_eq!(root.children[2].text, " sp ");
    }

    #[test]
    fn broken_documents_are_malformed() {
        for doc in [
            &b""[..],
            b"<A><B></A>",
            b"<A>",
            b"<A></A><B></B>",
            b"text",
            b"<A></B>",
        ] {
            assert!(
                matches!(parse_xml(doc), Err(LifecycleError::MalformedXml(_))),
                "{:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }
}
