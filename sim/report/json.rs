//! The layout of the JSON files kubesim writes: objects and arrays of
//! objects indented one member per line, as `serde_json`'s pretty printer
//! does, but an array of numbers, strings or nulls on one line.
//!
//! A report's time series hold hundreds of numbers per sample (the heat
//! map's per-node cpu); one per line made `report.json` of a 5000-node run
//! 3.2 MB, mostly indentation, and writing it a large part of the run's
//! time. Values are written exactly as `serde_json` writes them.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use std::io::{self, Write};

/// What the formatter knows of one open array: whether an element so far
/// was an object or array (then every element goes on its own line), and
/// the element whose separator is not written yet (`Some(first)`).
struct ArrayFrame {
    composite: bool,
    pending: Option<bool>,
}

/// `serde_json::ser::Formatter` for the layout above.
#[derive(Default)]
pub struct ReportFormatter {
    depth: usize,
    /// One entry per open array or object (`None`: an object).
    frames: Vec<Option<ArrayFrame>>,
    /// The innermost open object has a member.
    has_member: bool,
}

const INDENT: &[u8] = b"                                                                ";

fn newline<W: ?Sized + Write>(w: &mut W, depth: usize) -> io::Result<()> {
    w.write_all(b"\n")?;
    let mut n = 2 * depth;
    while n > 0 {
        let k = n.min(INDENT.len());
        w.write_all(&INDENT[..k])?;
        n -= k;
    }
    Ok(())
}

impl ReportFormatter {
    /// Write the separator of an array element about to start: inline for
    /// a scalar, on its own line for an object or array (`composite`).
    fn element<W: ?Sized + Write>(&mut self, w: &mut W, composite: bool) -> io::Result<()> {
        let depth = self.depth;
        let Some(Some(frame)) = self.frames.last_mut() else {
            return Ok(());
        };
        let Some(first) = frame.pending.take() else {
            return Ok(());
        };
        if !first {
            w.write_all(b",")?;
        }
        if composite || frame.composite {
            frame.composite = true;
            newline(w, depth)
        } else if first {
            Ok(())
        } else {
            w.write_all(b" ")
        }
    }
}

macro_rules! scalar {
    ($($name:ident: $t:ty),* $(,)?) => {$(
        fn $name<W: ?Sized + Write>(&mut self, w: &mut W, value: $t) -> io::Result<()> {
            self.element(w, false)?;
            CompactFormatter.$name(w, value)
        }
    )*};
}

impl Formatter for ReportFormatter {
    fn write_null<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, false)?;
        w.write_all(b"null")
    }

    scalar!(
        write_bool: bool,
        write_i8: i8,
        write_i16: i16,
        write_i32: i32,
        write_i64: i64,
        write_i128: i128,
        write_u8: u8,
        write_u16: u16,
        write_u32: u32,
        write_u64: u64,
        write_u128: u128,
        write_f32: f32,
        write_f64: f64,
        write_number_str: &str,
        write_raw_fragment: &str,
    );

    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, false)?;
        w.write_all(b"\"")
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, true)?;
        self.depth += 1;
        self.frames.push(Some(ArrayFrame {
            composite: false,
            pending: None,
        }));
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if let Some(Some(frame)) = self.frames.pop()
            && frame.composite
        {
            newline(w, self.depth)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, _: &mut W, first: bool) -> io::Result<()> {
        if let Some(Some(frame)) = self.frames.last_mut() {
            frame.pending = Some(first);
        }
        Ok(())
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.element(w, true)?;
        self.depth += 1;
        self.frames.push(None);
        self.has_member = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        self.frames.pop();
        if self.has_member {
            newline(w, self.depth)?;
        }
        // The enclosing object (if that is what encloses) has this member.
        self.has_member = true;
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        newline(w, self.depth)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_member = true;
        Ok(())
    }
}

/// Write `value` to `w` in this layout.
pub fn to_writer<W: Write, T: Serialize + ?Sized>(w: W, value: &T) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, ReportFormatter::default());
    value.serialize(&mut ser)
}

/// `value` in this layout, as a string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    to_writer(&mut out, value).expect("values serialise");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalar_arrays_inline_objects_indented() {
        let v = json!({
            "a": 1,
            "xs": [0.5, 1.0, null, "s"],
            "empty": [],
            "none": {},
            "rows": [{"t": 0.0, "v": [1, 2]}, {"t": 1.0, "v": []}],
            "nested": [[1, 2], [3]],
        });
        let want = r#"{
  "a": 1,
  "xs": [0.5, 1.0, null, "s"],
  "empty": [],
  "none": {},
  "rows": [
    {
      "t": 0.0,
      "v": [1, 2]
    },
    {
      "t": 1.0,
      "v": []
    }
  ],
  "nested": [
    [1, 2],
    [3]
  ]
}"#;
        assert_eq!(to_string(&v), want);
    }

    #[test]
    fn same_values_as_serde_json() {
        let v = json!({"f": [1e-7, 1e300, -0.0, 0.1], "s": "a\"b\n", "u": u64::MAX, "i": i64::MIN});
        let back: serde_json::Value = serde_json::from_str(&to_string(&v)).unwrap();
        assert_eq!(back, v);
    }
}
