//! The D-Bus wire format (the specification's "Marshaling"), little-endian only: values
//! by their signature, method calls out, any message in. Pure logic, unit-tested against
//! the bytes busctl sends.

use crate::error::{CgroupError, Result};

pub const METHOD_CALL: u8 = 1;
pub const METHOD_RETURN: u8 = 2;
pub const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;

/// Flag: do not start the destination's service if it is not running (systemd is never
/// started by a bus; asking would only hide the error).
const NO_AUTO_START: u8 = 2;

/// Header field codes.
const F_PATH: u8 = 1;
const F_INTERFACE: u8 = 2;
const F_MEMBER: u8 = 3;
const F_ERROR_NAME: u8 = 4;
const F_REPLY_SERIAL: u8 = 5;
const F_DESTINATION: u8 = 6;
const F_SIGNATURE: u8 = 8;

/// Messages larger than this are refused (the specification's limit is 128 MiB).
const MAX_MESSAGE: usize = 64 << 20;

/// One D-Bus value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Byte(u8),
    Bool(bool),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    Double(f64),
    Str(String),
    Path(String),
    Signature(String),
    /// An array with the signature of its elements (needed when it is empty).
    Array(String, Vec<Value>),
    Struct(Vec<Value>),
    Variant(Box<Value>),
    DictEntry(Box<Value>, Box<Value>),
}

impl Value {
    pub fn signature(&self) -> String {
        match self {
            Value::Byte(_) => "y".into(),
            Value::Bool(_) => "b".into(),
            Value::I32(_) => "i".into(),
            Value::U32(_) => "u".into(),
            Value::I64(_) => "x".into(),
            Value::U64(_) => "t".into(),
            Value::Double(_) => "d".into(),
            Value::Str(_) => "s".into(),
            Value::Path(_) => "o".into(),
            Value::Signature(_) => "g".into(),
            Value::Array(elem, _) => format!("a{elem}"),
            Value::Struct(fields) => {
                let inner: String = fields.iter().map(Value::signature).collect();
                format!("({inner})")
            }
            Value::Variant(_) => "v".into(),
            Value::DictEntry(k, v) => format!("{{{}{}}}", k.signature(), v.signature()),
        }
    }

    /// The text of a string, object path or signature.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Path(s) | Value::Signature(s) => Some(s),
            _ => None,
        }
    }
}

pub(super) fn protocol(reason: impl Into<String>) -> CgroupError {
    CgroupError::DbusProtocol {
        reason: reason.into(),
    }
}

/// The alignment of the first type of `sig`.
fn alignment(sig: u8) -> usize {
    match sig {
        b'n' | b'q' => 2,
        b'b' | b'i' | b'u' | b's' | b'o' | b'a' | b'h' => 4,
        b'x' | b't' | b'd' | b'(' | b'{' => 8,
        _ => 1,
    }
}

/// Split the first complete type off a signature: `a(sv)s` -> (`a(sv)`, `s`).
pub fn split_type(sig: &str) -> Result<(&str, &str)> {
    let bytes = sig.as_bytes();
    let mut i = 0;
    while bytes.get(i) == Some(&b'a') {
        i += 1;
    }
    match bytes.get(i) {
        None => Err(protocol(format!("incomplete signature {sig:?}"))),
        Some(&open @ (b'(' | b'{')) => {
            let close = if open == b'(' { b')' } else { b'}' };
            let mut depth = 0;
            for (j, &c) in bytes.iter().enumerate().skip(i) {
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(sig.split_at(j + 1));
                    }
                }
            }
            Err(protocol(format!("unbalanced signature {sig:?}")))
        }
        Some(_) => Ok(sig.split_at(i + 1)),
    }
}

/// Marshalling, little-endian. Offsets are relative to the start of `buf`, which
/// must itself start 8-aligned in the message (the header and the body do).
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, align: usize) {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
    }

    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn string(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    fn signature(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    pub fn put(&mut self, v: &Value) {
        match v {
            Value::Byte(b) => self.buf.push(*b),
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::I32(n) => {
                self.pad(4);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::U32(n) => self.u32(*n),
            Value::I64(n) => {
                self.pad(8);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::U64(n) => {
                self.pad(8);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::Double(d) => {
                self.pad(8);
                self.buf.extend_from_slice(&d.to_le_bytes());
            }
            Value::Str(s) | Value::Path(s) => self.string(s),
            Value::Signature(s) => self.signature(s),
            Value::Array(elem, items) => {
                self.u32(0);
                let len_at = self.buf.len() - 4;
                // The length counts from the first element, after its padding.
                self.pad(alignment(elem.as_bytes().first().copied().unwrap_or(b'y')));
                let start = self.buf.len();
                for item in items {
                    self.put(item);
                }
                let len = (self.buf.len() - start) as u32;
                self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
            Value::Struct(fields) => {
                self.pad(8);
                for f in fields {
                    self.put(f);
                }
            }
            Value::Variant(inner) => {
                self.signature(&inner.signature());
                self.put(inner);
            }
            Value::DictEntry(k, v) => {
                self.pad(8);
                self.put(k);
                self.put(v);
            }
        }
    }
}

/// Unmarshalling of little-endian data.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn pad(&mut self, align: usize) -> Result<()> {
        let next = self.pos.div_ceil(align) * align;
        if next > self.buf.len() {
            return Err(protocol("message truncated"));
        }
        self.pos = next;
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| protocol("message truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.pad(N)?;
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    fn text(&mut self, len: usize) -> Result<String> {
        let bytes = self.take(len + 1)?;
        String::from_utf8(bytes[..len].to_vec()).map_err(|_| protocol("string is not UTF-8"))
    }

    /// Read one value of the complete type `sig`.
    pub fn get(&mut self, sig: &str) -> Result<Value> {
        let first = *sig
            .as_bytes()
            .first()
            .ok_or_else(|| protocol("empty type"))?;
        Ok(match first {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => Value::Bool(u32::from_le_bytes(self.fixed()?) != 0),
            b'i' => Value::I32(i32::from_le_bytes(self.fixed()?)),
            b'u' | b'h' => Value::U32(u32::from_le_bytes(self.fixed()?)),
            b'n' => Value::I32(i16::from_le_bytes(self.fixed()?).into()),
            b'q' => Value::U32(u16::from_le_bytes(self.fixed()?).into()),
            b'x' => Value::I64(i64::from_le_bytes(self.fixed()?)),
            b't' => Value::U64(u64::from_le_bytes(self.fixed()?)),
            b'd' => Value::Double(f64::from_le_bytes(self.fixed()?)),
            b's' | b'o' => {
                let len = u32::from_le_bytes(self.fixed()?) as usize;
                let s = self.text(len)?;
                if first == b's' {
                    Value::Str(s)
                } else {
                    Value::Path(s)
                }
            }
            b'g' => {
                let len = self.take(1)?[0] as usize;
                Value::Signature(self.text(len)?)
            }
            b'v' => {
                let len = self.take(1)?[0] as usize;
                let inner = self.text(len)?;
                let (ty, rest) = split_type(&inner)?;
                if !rest.is_empty() {
                    return Err(protocol(format!("variant of several types {inner:?}")));
                }
                Value::Variant(Box::new(self.get(ty)?))
            }
            b'a' => {
                let elem = &sig[1..];
                let len = u32::from_le_bytes(self.fixed()?) as usize;
                self.pad(alignment(elem.as_bytes()[0]))?;
                let end = self
                    .pos
                    .checked_add(len)
                    .filter(|e| *e <= self.buf.len())
                    .ok_or_else(|| protocol("array longer than the message"))?;
                let mut items = Vec::new();
                while self.pos < end {
                    items.push(self.get(elem)?);
                }
                Value::Array(elem.to_owned(), items)
            }
            b'(' => {
                self.pad(8)?;
                let mut inner = &sig[1..sig.len() - 1];
                let mut fields = Vec::new();
                while !inner.is_empty() {
                    let (ty, rest) = split_type(inner)?;
                    fields.push(self.get(ty)?);
                    inner = rest;
                }
                Value::Struct(fields)
            }
            b'{' => {
                self.pad(8)?;
                let (k, v) = split_type(&sig[1..sig.len() - 1])?;
                let key = self.get(k)?;
                let value = self.get(v)?;
                Value::DictEntry(Box::new(key), Box::new(value))
            }
            other => return Err(protocol(format!("unknown type code {:?}", other as char))),
        })
    }

    /// Read every value of the signature `sig` (a sequence of complete types).
    pub fn get_all(&mut self, mut sig: &str) -> Result<Vec<Value>> {
        let mut values = Vec::new();
        while !sig.is_empty() {
            let (ty, rest) = split_type(sig)?;
            values.push(self.get(ty)?);
            sig = rest;
        }
        Ok(values)
    }
}

/// A message received.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: u8,
    pub serial: u32,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub reply_serial: Option<u32>,
    pub body: Vec<Value>,
}

/// Marshal a method call (to a bus peer other than the bus itself: NO_AUTO_START).
pub fn encode_call(
    serial: u32,
    destination: Option<&str>,
    path: &str,
    interface: &str,
    member: &str,
    args: &[Value],
) -> Vec<u8> {
    let mut body = Writer::default();
    for a in args {
        body.put(a);
    }
    let sig: String = args.iter().map(Value::signature).collect();
    let field =
        |code: u8, v: Value| Value::Struct(vec![Value::Byte(code), Value::Variant(v.into())]);
    // In sd-bus's order, so the bytes can be compared with what busctl sends.
    let mut fields = vec![
        field(F_PATH, Value::Path(path.into())),
        field(F_MEMBER, Value::Str(member.into())),
        field(F_INTERFACE, Value::Str(interface.into())),
    ];
    if let Some(d) = destination {
        fields.push(field(F_DESTINATION, Value::Str(d.into())));
    }
    if !sig.is_empty() {
        fields.push(field(F_SIGNATURE, Value::Signature(sig)));
    }
    let flags = match destination {
        Some(d) if d != "org.freedesktop.DBus" => NO_AUTO_START,
        _ => 0,
    };
    let mut msg = Writer::default();
    msg.buf.extend_from_slice(&[b'l', METHOD_CALL, flags, 1]);
    msg.u32(body.buf.len() as u32);
    msg.u32(serial);
    msg.put(&Value::Array("(yv)".into(), fields));
    msg.pad(8);
    msg.buf.extend_from_slice(&body.buf);
    msg.buf
}

/// How many bytes the message starting with these 16 bytes takes in all.
pub fn message_len(head: &[u8; 16]) -> Result<usize> {
    if head[0] != b'l' {
        return Err(protocol("big-endian message (not supported)"));
    }
    let body = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes")) as usize;
    let fields = u32::from_le_bytes(head[12..16].try_into().expect("4 bytes")) as usize;
    let len = (16 + fields).div_ceil(8) * 8 + body;
    if len > MAX_MESSAGE {
        return Err(protocol(format!("message of {len} bytes")));
    }
    Ok(len)
}

/// Unmarshal one complete message.
pub fn decode(buf: &[u8]) -> Result<Message> {
    let mut r = Reader::new(buf);
    let head = r.take(4)?;
    let (kind, version) = (head[1], head[3]);
    if head[0] != b'l' || version != 1 {
        return Err(protocol("not a little-endian D-Bus 1 message"));
    }
    let body_len = u32::from_le_bytes(r.fixed()?) as usize;
    let serial = u32::from_le_bytes(r.fixed()?);
    let Value::Array(_, fields) = r.get("a(yv)")? else {
        unreachable!("an array signature reads an array")
    };
    let mut msg = Message {
        kind,
        serial,
        path: None,
        interface: None,
        member: None,
        error_name: None,
        reply_serial: None,
        body: Vec::new(),
    };
    let mut signature = String::new();
    for f in fields {
        let Value::Struct(parts) = f else { continue };
        let (Some(Value::Byte(code)), Some(Value::Variant(v))) = (parts.first(), parts.get(1))
        else {
            continue;
        };
        let text = v.as_str().map(str::to_owned);
        match *code {
            F_PATH => msg.path = text,
            F_INTERFACE => msg.interface = text,
            F_MEMBER => msg.member = text,
            F_ERROR_NAME => msg.error_name = text,
            F_REPLY_SERIAL => {
                if let Value::U32(n) = **v {
                    msg.reply_serial = Some(n);
                }
            }
            F_SIGNATURE => signature = text.unwrap_or_default(),
            _ => {}
        }
    }
    r.pad(8)?;
    let body = r.take(body_len)?;
    msg.body = Reader::new(body).get_all(&signature)?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_split_into_complete_types() {
        assert_eq!(split_type("a(sv)s").unwrap(), ("a(sv)", "s"));
        assert_eq!(split_type("a{sv}").unwrap(), ("a{sv}", ""));
        assert_eq!(split_type("aay").unwrap(), ("aay", ""));
        assert_eq!(split_type("uos").unwrap(), ("u", "os"));
        assert!(split_type("a(sv").is_err());
        assert!(split_type("a").is_err());
        let v = Value::Array(
            "(sa(sv))".into(),
            vec![Value::Struct(vec![
                Value::Str("x".into()),
                Value::Array("(sv)".into(), vec![]),
            ])],
        );
        assert_eq!(v.signature(), "a(sa(sv))");
    }

    fn unhex(parts: &[&str]) -> Vec<u8> {
        let hex: String = parts.concat();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `Hello`, byte for byte as `busctl --address=... call org.freedesktop.DBus
    /// /org/freedesktop/DBus org.freedesktop.DBus ListNames` sent it to a dbus-daemon on
    /// this host (captured with `strace -e sendmsg -xx`).
    #[test]
    fn hello_is_what_busctl_sends() {
        let msg = encode_call(
            1,
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            &[],
        );
        let want = unhex(&[
            "6c01000100000000010000006d00000001016f00150000002f6f72672f667265656465736b746f70",
            "2f44427573000000030173000500000048656c6c6f00000002017300140000006f72672e66726565",
            "6465736b746f702e444275730000000006017300140000006f72672e667265656465736b746f702e",
            "4442757300000000",
        ]);
        assert_eq!(msg, want);
        assert_eq!(
            message_len(msg[..16].try_into().unwrap()).unwrap(),
            msg.len()
        );
    }

    /// `busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1
    /// org.freedesktop.systemd1.Manager StartTransientUnit 'ssa(sv)a(sa(sv))'
    /// jinn-c1.scope replace 4 PIDs au 1 42 MemoryMax t 1073741824 AllowedCPUs ay 1 5
    /// Delegate b true 0`, captured the same way.
    #[test]
    fn start_transient_unit_is_what_busctl_sends() {
        let prop = |name: &str, v: Value| {
            Value::Struct(vec![Value::Str(name.into()), Value::Variant(v.into())])
        };
        let args = [
            Value::Str("jinn-c1.scope".into()),
            Value::Str("replace".into()),
            Value::Array(
                "(sv)".into(),
                vec![
                    prop("PIDs", Value::Array("u".into(), vec![Value::U32(42)])),
                    prop("MemoryMax", Value::U64(1 << 30)),
                    prop(
                        "AllowedCPUs",
                        Value::Array("y".into(), vec![Value::Byte(5)]),
                    ),
                    prop("Delegate", Value::Bool(true)),
                ],
            ),
            Value::Array("(sa(sv))".into(), vec![]),
        ];
        let msg = encode_call(
            2,
            Some("org.freedesktop.systemd1"),
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "StartTransientUnit",
            &args,
        );
        let mut want = unhex(&[
            "6c0104019800000002000000b600000001016f00190000002f6f72672f667265656465736b746f70",
            "2f73797374656d643100000000000000030173001200000053746172745472616e7369656e74556e",
            "697400000000000002017300200000006f72672e667265656465736b746f702e73797374656d6431",
            "2e4d616e61676572000000000000000006017300180000006f72672e667265656465736b746f702e",
            "73797374656d64310000000000000000080167001073736128737629612873612873762929000000",
            "0d0000006a696e6e2d63312e73636f7065000000070000007265706c616365006c00000000000000",
            "04000000504944730002617500000000040000002a000000090000004d656d6f72794d6178000174",
            "000000000000000000000040000000000b000000416c6c6f77656443505573000261790001000000",
            "05000000000000000800000044656c6567617465000162000100000000000000",
        ]);
        // busctl sets the ALLOW_INTERACTIVE_AUTHORIZATION flag; jinn NO_AUTO_START.
        want[2] = NO_AUTO_START;
        assert_eq!(msg, want);
        assert_eq!(decode(&msg).unwrap().body, args);
    }

    #[test]
    fn properties_round_trip() {
        let props = Value::Array(
            "(sv)".into(),
            vec![
                Value::Struct(vec![
                    Value::Str("PIDs".into()),
                    Value::Variant(Box::new(Value::Array("u".into(), vec![Value::U32(42)]))),
                ]),
                Value::Struct(vec![
                    Value::Str("MemoryMax".into()),
                    Value::Variant(Box::new(Value::U64(1 << 30))),
                ]),
                Value::Struct(vec![
                    Value::Str("AllowedCPUs".into()),
                    Value::Variant(Box::new(Value::Array("y".into(), vec![Value::Byte(5)]))),
                ]),
                Value::Struct(vec![
                    Value::Str("Delegate".into()),
                    Value::Variant(Box::new(Value::Bool(true))),
                ]),
            ],
        );
        let args = vec![
            Value::Str("jinn-c1.scope".into()),
            Value::Str("replace".into()),
            props,
            Value::Array("(sa(sv))".into(), vec![]),
        ];
        let msg = encode_call(
            7,
            None,
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "StartTransientUnit",
            &args,
        );
        let back = decode(&msg).unwrap();
        assert_eq!(back.kind, METHOD_CALL);
        assert_eq!(back.serial, 7);
        assert_eq!(back.member.as_deref(), Some("StartTransientUnit"));
        assert_eq!(back.path.as_deref(), Some("/org/freedesktop/systemd1"));
        assert_eq!(back.body, args);
    }

    #[test]
    fn truncated_and_bad_messages_are_errors() {
        let msg = encode_call(1, None, "/", "a.b", "C", &[Value::Str("x".into())]);
        assert!(decode(&msg[..msg.len() - 1]).is_err());
        let mut bad = msg.clone();
        bad[0] = b'B';
        assert!(decode(&bad).is_err());
        assert!(message_len(bad[..16].try_into().unwrap()).is_err());
        // An array that claims more bytes than there are.
        assert!(Reader::new(b"\xff\x00\x00\x00").get("ay").is_err());
        assert!(Reader::new(b"\x01\x00\x00\x00x").get("s").is_err());
    }
}
