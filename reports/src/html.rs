//! The self-contained `index.html`: inline SVG figures, tables, no network.
//!
//! Key decision: the page is assembled as a string from escaped text and
//! the figures' SVG, with no script, stylesheet or font fetched from
//! anywhere and nothing that changes between renderings (no timestamp, no
//! absolute path the inputs did not contain), so the same inputs give the
//! same bytes. Each figure is a `<figure class="figure">` holding its SVG
//! and a link to its PNG file beside the page.

use std::fmt::Write as _;

/// `&`, `<`, `>`, `"` escaped.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// Seconds with a unit that keeps three significant digits readable.
pub fn fmt_seconds(s: f64) -> String {
    if s == 0.0 {
        "0s".to_string()
    } else if s.abs() >= 1.0 {
        format!("{s:.2}s")
    } else if s.abs() >= 1e-3 {
        format!("{:.1}ms", s * 1e3)
    } else {
        format!("{:.0}µs", s * 1e6)
    }
}

/// A figure on the page.
#[derive(Clone, Debug)]
pub struct FigureHtml {
    /// Element id and PNG file stem.
    pub id: String,
    /// Heading.
    pub title: String,
    /// What it shows.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

/// A page section: heading, paragraphs of HTML, figures.
#[derive(Clone, Debug, Default)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// HTML before the figures (tables, notes).
    pub body: String,
    /// Figures.
    pub figures: Vec<FigureHtml>,
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1000px;color:#222}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em}\
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
th{background:#f4f4f4}td.l,th.l{text-align:left}\
td.best{background:#d9f2d9;font-weight:bold}\
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}\
figcaption{font-size:.9em;color:#555}code{background:#f4f4f4;padding:0 3px}";

/// The whole page.
pub fn page(title: &str, intro: &str, sections: &[Section]) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n{intro}\n",
        esc(title),
        esc(title)
    );
    for s in sections {
        let _ = writeln!(o, "<h2>{}</h2>", esc(&s.title));
        o.push_str(&s.body);
        for f in &s.figures {
            let _ = writeln!(
                o,
                "<figure class=\"figure\" id=\"{id}\">\n<h3>{title}</h3>\n{svg}\n\
                 <figcaption>{caption} <a class=\"png\" href=\"{id}.png\">PNG</a></figcaption>\n</figure>",
                id = f.id,
                title = esc(&f.title),
                svg = f.svg.trim(),
                caption = f.caption,
            );
        }
    }
    o.push_str("</body>\n</html>\n");
    o
}

/// A table: header cells and rows of (html, class) cells.
pub fn table(head: &[String], rows: &[Vec<(String, &'static str)>]) -> String {
    let mut o = String::from("<table>\n<tr>");
    for (i, h) in head.iter().enumerate() {
        let class = if i == 0 { " class=\"l\"" } else { "" };
        let _ = write!(o, "<th{class}>{}</th>", esc(h));
    }
    o.push_str("</tr>\n");
    for row in rows {
        o.push_str("<tr>");
        for (cell, class) in row {
            if class.is_empty() {
                let _ = write!(o, "<td>{cell}</td>");
            } else {
                let _ = write!(o, "<td class=\"{class}\">{cell}</td>");
            }
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
    o
}
