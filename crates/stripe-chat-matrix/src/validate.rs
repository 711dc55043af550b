//! Checks `m.room.message` content against Matrix limits and the spec's HTML subset, before sending.

use serde_json::Value;
use stripe_chat_message::budget::serialized_len;

use crate::limits::is_web_url;
use crate::limits::{ALLOWED_TAGS, HTML_FORMAT, MAX_CONTENT_BYTES};

/// Tags deeper than this are not rendered (spec: "Tags must not be nested more than 100 levels").
const MAX_NESTING: usize = 100;

/// Tags without content or closing tag.
const VOID_TAGS: &[&str] = &["br", "hr", "img"];

/// Checks `m.room.message` content: serialized size within [`MAX_CONTENT_BYTES`]; a `msgtype` of
/// `m.notice`, `m.text` or `m.emote`; a string `body`; and, when `format` is set, that it is
/// [`HTML_FORMAT`] with a `formatted_body` using only the spec's [`ALLOWED_TAGS`] and their
/// permitted attributes, properly nested and closed, with `href`s to `https://`/`http://` URLs
/// only, and no stray `<`, `>` or `&` outside tags and entities. The `m.new_content` of an edit is
/// checked the same way. Returns every problem found.
///
/// ```
/// use serde_json::json;
/// use stripe_chat_message::{ChatMessage, Renderer};
/// use stripe_chat_matrix::{MatrixRenderer, validate_limits};
///
/// let content = MatrixRenderer::new().render(&ChatMessage::new("Invoice paid"))?;
/// assert_eq!(validate_limits(&content), Ok(()));
///
/// let bad = json!({"msgtype": "m.notice", "body": "x", "format": "org.matrix.custom.html",
///     "formatted_body": "<script>alert(1)</script><a href=\"javascript:x\">x</a>"});
/// assert_eq!(validate_limits(&bad).map_err(|problems| problems.len()), Err(3));
/// # Ok::<(), stripe_chat_message::RenderError>(())
/// ```
pub fn validate_limits(content: &Value) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let size = serialized_len(content);
    if size > MAX_CONTENT_BYTES {
        problems.push(format!("content is {size} bytes, over {MAX_CONTENT_BYTES}"));
    }
    check_content(content, "", &mut problems);
    if let Some(new_content) = content.get("m.new_content") {
        check_content(new_content, "m.new_content: ", &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_content(content: &Value, at: &str, problems: &mut Vec<String>) {
    if !matches!(
        content["msgtype"].as_str(),
        Some("m.notice" | "m.text" | "m.emote")
    ) {
        problems.push(format!(
            "{at}msgtype {} is not m.notice, m.text or m.emote",
            content["msgtype"]
        ));
    }
    if !content["body"].is_string() {
        problems.push(format!("{at}body is not a string"));
    }
    match (content.get("format"), content.get("formatted_body")) {
        (None, None) => {}
        (Some(format), Some(Value::String(html))) if format == HTML_FORMAT => {
            check_html(html, &mut |problem| {
                problems.push(format!("{at}formatted_body: {problem}"))
            });
        }
        _ => problems.push(format!(
            "{at}format is not {HTML_FORMAT} with a string formatted_body"
        )),
    }
}

/// Scans `html` and reports what the spec's HTML subset does not allow.
pub(crate) fn check_html(html: &str, report: &mut dyn FnMut(String)) {
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(['<', '>', '&']) {
        let after = &rest[at + 1..];
        match rest.as_bytes().get(at) {
            Some(b'>') => {
                report("stray `>` outside a tag".to_owned());
                rest = after;
            }
            Some(b'&') => {
                let entity_len = entity_len(after);
                if entity_len == 0 {
                    report("stray `&` that starts no entity".to_owned());
                }
                rest = &after[entity_len..];
            }
            _ => {
                let Some(end) = after.find('>') else {
                    report("unclosed `<`".to_owned());
                    return;
                };
                let tag = &after[..end];
                rest = &after[end + 1..];
                if tag.contains('<') {
                    report(format!("`<` inside the tag <{tag}>"));
                    continue;
                }
                check_tag(tag, &mut open, report);
            }
        }
    }
    if !open.is_empty() {
        report(format!("unclosed tags: {}", open.join(", ")));
    }
}

/// One tag, between `<` and `>`.
fn check_tag(tag: &str, open: &mut Vec<String>, report: &mut dyn FnMut(String)) {
    let (closing, tag) = match tag.strip_prefix('/') {
        Some(tag) => (true, tag),
        None => (false, tag),
    };
    let name_len = tag
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(tag.len());
    let name = tag[..name_len].to_ascii_lowercase();
    if !ALLOWED_TAGS.contains(&name.as_str()) {
        report(format!(
            "<{}> is not in the spec's HTML subset",
            &tag[..name_len]
        ));
        return;
    }
    let attributes = tag[name_len..].trim();
    if closing {
        if !attributes.is_empty() {
            report(format!("closing tag </{name}> has attributes"));
        }
        match open.pop() {
            Some(last) if last == name => {}
            Some(last) => report(format!("</{name}> closes <{last}>")),
            None => report(format!("</{name}> closes nothing")),
        }
        return;
    }
    let attributes = attributes.strip_suffix('/').unwrap_or(attributes);
    match parse_attributes(attributes) {
        Some(pairs) => {
            for (key, value) in pairs {
                check_attribute(&name, &key, value.as_deref(), report);
            }
        }
        None => report(format!("<{name}> has malformed attributes")),
    }
    if !VOID_TAGS.contains(&name.as_str()) {
        open.push(name);
        if open.len() > MAX_NESTING {
            report(format!("tags nested deeper than {MAX_NESTING}"));
        }
    }
}

/// The attributes the spec permits on each tag; `href` must be a web URL.
fn check_attribute(tag: &str, key: &str, value: Option<&str>, report: &mut dyn FnMut(String)) {
    let permitted: &[&str] = match tag {
        "span" => &[
            "data-mx-bg-color",
            "data-mx-color",
            "data-mx-spoiler",
            "data-mx-maths",
        ],
        "a" => &["target", "href"],
        "img" => &["width", "height", "alt", "title", "src"],
        "ol" => &["start"],
        "code" => &["class"],
        "div" => &["data-mx-maths"],
        _ => &[],
    };
    if !permitted.contains(&key) {
        report(format!("attribute `{key}` is not permitted on <{tag}>"));
    } else if tag == "a" && key == "href" {
        let url = value.map(decode_entities).unwrap_or_default();
        if !is_web_url(&url) {
            report(format!("href {url:?} is not an http(s) URL"));
        }
    }
}

/// `key="value" key='value' key=value key`, or `None` when malformed.
fn parse_attributes(mut text: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut pairs = Vec::new();
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Some(pairs);
        }
        let key_len = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':')))
            .unwrap_or(text.len());
        if key_len == 0 {
            return None;
        }
        let key = text[..key_len].to_ascii_lowercase();
        text = text[key_len..].trim_start();
        let Some(value_text) = text.strip_prefix('=') else {
            pairs.push((key, None));
            continue;
        };
        let value_text = value_text.trim_start();
        let (value, rest) = match value_text.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let inner = &value_text[1..];
                let end = inner.find(quote)?;
                (&inner[..end], &inner[end + 1..])
            }
            Some(_) => {
                let end = value_text
                    .find(char::is_whitespace)
                    .unwrap_or(value_text.len());
                (&value_text[..end], &value_text[end..])
            }
            None => return None,
        };
        pairs.push((key, Some(value.to_owned())));
        text = rest;
    }
}

/// Length of the entity after a `&` (`amp;`, `#39;`, `#x27;`), or 0 when there is none.
fn entity_len(text: &str) -> usize {
    let semicolon = text.char_indices().take(32).find(|&(_, c)| c == ';');
    let Some((end, _)) = semicolon else {
        return 0;
    };
    let name = &text[..end];
    let valid = match name.strip_prefix('#') {
        Some(number) => match number.strip_prefix(['x', 'X']) {
            Some(hex) => !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()),
            None => !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()),
        },
        None => !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
    };
    if valid { end + 1 } else { 0 }
}

/// Decodes the entities [`escape_html`](crate::escape_html) writes (enough to read back an `href`).
fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(html: &str) -> Vec<String> {
        let mut problems = Vec::new();
        check_html(html, &mut |p| problems.push(p));
        problems
    }

    #[test]
    fn the_renderers_html_passes() {
        let html = "<h4>ℹ️ A &amp; B</h4><p>x<br>y</p><ul><li><strong>L</strong>: v</li></ul>\
                    <p><a href=\"https://e.test/?a=1&amp;b=&#39;2&#39;\">x</a></p><p><em>t</em></p>";
        assert_eq!(problems(html), Vec::<String>::new());
    }

    #[test]
    fn tags_outside_the_subset_are_reported() {
        for html in [
            "<script>x</script>",
            "<iframe src=x></iframe>",
            "<mx-reply>x</mx-reply>",
            "<at>x</at>",
        ] {
            assert!(!problems(html).is_empty(), "{html}");
        }
    }

    #[test]
    fn unpermitted_attributes_and_non_web_hrefs_are_reported() {
        assert_eq!(problems("<p onclick=\"x\">y</p>").len(), 1);
        assert_eq!(problems("<a href=\"javascript:alert(1)\">x</a>").len(), 1);
        assert_eq!(problems("<a href='JaVaScRiPt:alert(1)'>x</a>").len(), 1);
        assert_eq!(problems("<a href=/relative>x</a>").len(), 1);
        assert_eq!(
            problems("<a href=\"https://e.test\" target=\"_blank\">x</a>").len(),
            0
        );
    }

    #[test]
    fn stray_markup_characters_and_bad_nesting_are_reported() {
        assert_eq!(problems("a > b").len(), 1);
        assert_eq!(problems("AT&T").len(), 1);
        assert_eq!(problems("&amp;😀😀😀😀😀😀😀😀😀").len(), 0);
        assert_eq!(problems("<p>x").len(), 1);
        assert_eq!(problems("<p><em>x</p></em>").len(), 2);
        assert_eq!(problems("<p>x<").len(), 1);
        assert_eq!(problems("<p <b>>x</p>").len(), 3);
        assert_eq!(problems(&"<div>".repeat(101)).len(), 2);
    }

    #[test]
    fn content_shape_and_size_are_checked() {
        assert_eq!(
            validate_limits(&json!({"msgtype": "m.notice", "body": "x"})),
            Ok(())
        );
        let wrong =
            json!({"msgtype": "m.image", "body": 1, "format": "markdown", "formatted_body": "x"});
        assert_eq!(validate_limits(&wrong).map_err(|p| p.len()), Err(3));
        let big = json!({"msgtype": "m.text", "body": "x".repeat(MAX_CONTENT_BYTES)});
        assert_eq!(validate_limits(&big).map_err(|p| p.len()), Err(1));
    }

    #[test]
    fn the_new_content_of_an_edit_is_checked_too() {
        let edit = json!({"msgtype": "m.notice", "body": "* x",
            "m.new_content": {"msgtype": "m.notice", "body": "x", "format": HTML_FORMAT, "formatted_body": "<blink>x</blink>"}});
        let problems = validate_limits(&edit).expect_err("refused");
        assert!(problems[0].starts_with("m.new_content: "), "{problems:?}");
    }
}
