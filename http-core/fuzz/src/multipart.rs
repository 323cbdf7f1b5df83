//! The `multipart` target: arbitrary bytes through the `multipart/form-data` parser.

use h1_core::{Multipart, MultipartError, MultipartEvent, MultipartLimits};

use crate::Rng;

/// Boundaries the target picks from (byte 0, bits 1..3).
const BOUNDARIES: &[&str] = &[
    "b",
    "XyZ",
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",
    "------------------------d74496d66958873e",
];

/// What one run produced: the parts (name, filename, content) or the error.
type Outcome = Result<Vec<(String, Option<String>, Vec<u8>)>, MultipartError>;

/// The `multipart` target: feed arbitrary bytes to a [`Multipart`] parser, whole and in
/// arbitrary splits.
///
/// Input layout: byte 0 holds switches (bit 0: small limits; bits 1..3: the boundary),
/// byte 1 the split mode, bytes 2..4 seed the PRNG that picks split sizes; the rest is
/// the body.
///
/// Invariants checked: no panic; a bounded number of events (no spinning); no empty data
/// events; part begin and end balanced; errors sticky; `End` final; no `NeedData` after
/// EOF; the same parts or the same error however the body is split; file content is
/// never bounded by the field limit and field content always is.
pub fn multipart(data: &[u8]) {
    let Some((ctl, body)) = data.split_first_chunk::<4>() else {
        return;
    };
    let mut limits = MultipartLimits::default();
    let small = ctl[0] & 1 != 0;
    if small {
        limits
            .max_header_bytes(64)
            .max_parts(3)
            .max_name_bytes(4)
            .max_field_bytes(8)
            .max_preamble_bytes(16);
    }
    let boundary = BOUNDARIES[usize::from(ctl[0] >> 1) % BOUNDARIES.len()];
    let whole = run(boundary, &limits, body, 0, &mut Rng::new(0));
    let mut rng = Rng::new(u64::from(u16::from_le_bytes([ctl[2], ctl[3]])));
    let split = run(boundary, &limits, body, 1 + ctl[1] % 3, &mut rng);
    assert_eq!(whole, split, "outcome depends on the split");
    if let Ok(parts) = &whole {
        let field_limit = if small { 8 } else { 50 * 1024 };
        for (_, filename, content) in parts {
            if filename.is_none() {
                assert!(content.len() <= field_limit, "field over its limit");
            }
        }
    }
}

fn run(boundary: &str, limits: &MultipartLimits, body: &[u8], split: u8, rng: &mut Rng) -> Outcome {
    let mut mp = Multipart::new(boundary, limits.clone()).expect("valid boundary");
    let mut parts: Vec<(String, Option<String>, Vec<u8>)> = Vec::new();
    let mut in_part = false;
    let mut pos = 0;
    let mut eof = false;
    let bound = 4 * body.len() + 64;
    for _ in 0..bound {
        let event = match mp.next_event() {
            Ok(e) => e,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                assert!(matches!(e.status(), 400 | 413));
                assert_eq!(mp.next_event(), Err(e), "error not sticky");
                return Err(e);
            }
        };
        match event {
            MultipartEvent::PartBegin(head) => {
                assert!(!in_part, "part begins inside a part");
                in_part = true;
                assert!(head.name().len() <= 4 * 1024);
                parts.push((
                    head.name().to_owned(),
                    head.filename().map(str::to_owned),
                    Vec::new(),
                ));
            }
            MultipartEvent::Data(d) => {
                assert!(!d.is_empty(), "empty data event");
                assert!(in_part, "data outside a part");
                if let Some(last) = parts.last_mut() {
                    last.2.extend_from_slice(d);
                }
            }
            MultipartEvent::PartEnd => {
                assert!(in_part, "part end outside a part");
                in_part = false;
            }
            MultipartEvent::End => {
                assert!(!in_part, "end inside a part");
                assert_eq!(mp.next_event(), Ok(MultipartEvent::End), "end not final");
                return Ok(parts);
            }
            MultipartEvent::NeedData => {
                assert!(!eof, "NeedData after EOF");
                if pos < body.len() {
                    let left = body.len() - pos;
                    let n = match split {
                        0 => left,
                        1 => 1,
                        2 => 1 + rng.below(16) as usize,
                        _ => 1 + rng.below(256) as usize,
                    }
                    .min(left);
                    mp.receive(&body[pos..pos + n]);
                    pos += n;
                } else {
                    mp.receive_eof();
                    eof = true;
                }
            }
        }
    }
    panic!("no progress: more than {bound} events");
}
