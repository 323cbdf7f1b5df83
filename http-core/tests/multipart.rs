//! The `multipart/form-data` parser (issue 6): table cases fed whole, split at every byte
//! and one byte at a time; limits and typed errors; property tests (arbitrary bytes
//! never panic or loop; random parts serialized and parsed back at random splits give
//! the same parts).

use h1_core::{Multipart, MultipartError, MultipartEvent, MultipartLimits};
use proptest::prelude::*;

/// One part as parsed: name, filename, content type, content.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

/// Feed `pieces` in order (then EOF) and collect the parts until `End`.
///
/// Checks the event protocol on the way: no empty data, no data outside a part, `PartEnd`
/// only inside a part, errors sticky, and a bounded number of calls (no spinning).
fn parse(
    boundary: &str,
    limits: &MultipartLimits,
    pieces: &[&[u8]],
) -> Result<Vec<Part>, MultipartError> {
    let mut mp = Multipart::new(boundary, limits.clone())?;
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let mut budget = 4 * total + 16 * pieces.len() + 64;
    let mut parts: Vec<Part> = Vec::new();
    let mut in_part = false;
    let mut next = 0;
    loop {
        budget = budget
            .checked_sub(1)
            .expect("parser spins: too many events");
        let event = match mp.next_event() {
            Ok(e) => e,
            Err(e) => {
                assert_eq!(mp.next_event(), Err(e), "error not sticky");
                return Err(e);
            }
        };
        match event {
            MultipartEvent::PartBegin(head) => {
                assert!(!in_part, "part begins inside a part");
                in_part = true;
                parts.push(Part {
                    name: head.name().to_owned(),
                    filename: head.filename().map(str::to_owned),
                    content_type: head.content_type().map(str::to_owned),
                    data: Vec::new(),
                });
            }
            MultipartEvent::Data(d) => {
                assert!(!d.is_empty(), "empty data event");
                assert!(in_part, "data outside a part");
                parts.last_mut().unwrap().data.extend_from_slice(d);
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
                if next < pieces.len() {
                    mp.receive(pieces[next]);
                    next += 1;
                } else if next == pieces.len() {
                    mp.receive_eof();
                    next += 1;
                } else {
                    panic!("NeedData after EOF");
                }
            }
        }
    }
}

/// `parse` whole, at every single split point, and one byte at a time: all must agree.
fn parse_every_split(
    boundary: &str,
    limits: &MultipartLimits,
    input: &[u8],
) -> Result<Vec<Part>, MultipartError> {
    let whole = parse(boundary, limits, &[input]);
    for i in 0..=input.len() {
        let split = parse(boundary, limits, &[&input[..i], &input[i..]]);
        assert_eq!(
            split,
            whole,
            "split at {i} of {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(parse(boundary, limits, &bytes), whole, "byte at a time");
    whole
}

fn field(name: &str, data: &str) -> Part {
    Part {
        name: name.into(),
        filename: None,
        content_type: None,
        data: data.as_bytes().to_vec(),
    }
}

fn file(name: &str, filename: &str, ct: Option<&str>, data: &[u8]) -> Part {
    Part {
        name: name.into(),
        filename: Some(filename.into()),
        content_type: ct.map(Into::into),
        data: data.to_vec(),
    }
}

const CD: &str = "Content-Disposition: form-data";

#[test]
fn table_every_split() {
    type Case = (
        &'static str,
        &'static str,
        String,
        Result<Vec<Part>, MultipartError>,
    );
    let cases: Vec<Case> = vec![
        (
            "one field",
            "b",
            format!("--b\r\n{CD}; name=\"a\"\r\n\r\nhello\r\n--b--\r\n"),
            Ok(vec![field("a", "hello")]),
        ),
        (
            "field and file, preamble and epilogue",
            "XyZ",
            format!(
                "pre\r\namble\r\n--XyZ\r\n{CD}; name=\"t\"\r\n\r\nv\r\n--XyZ\r\n\
                 {CD}; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n\
                 line 1\r\nline 2\r\n\r\n--XyZ--\r\nepilogue --XyZ\r\n"
            ),
            Ok(vec![
                field("t", "v"),
                file("f", "a.txt", Some("text/plain"), b"line 1\r\nline 2\r\n"),
            ]),
        ),
        (
            "empty content and an empty filename",
            "b",
            format!("--b\r\n{CD}; name=x\r\n\r\n\r\n--b\r\n{CD}; name=y; filename=\"\"\r\n\r\n\r\n--b--"),
            Ok(vec![field("x", ""), file("y", "", None, b"")]),
        ),
        (
            "delimiter look-alikes inside content",
            "b0",
            format!(
                "--b0\r\n{CD}; name=\"d\"\r\n\r\n--b0\r\n--b\r\n-\r\n--\r\n\r\r\n--b\r\n--b0--"
            ),
            Ok(vec![field("d", "--b0\r\n--b\r\n-\r\n--\r\n\r\r\n--b")]),
        ),
        (
            "transport padding after delimiters",
            "b",
            format!("--b \t\r\n{CD}; name=\"a\"\r\n\r\n1\r\n--b\t\r\n{CD}; name=\"c\"\r\n\r\n2\r\n--b--  \r\n"),
            Ok(vec![field("a", "1"), field("c", "2")]),
        ),
        ("no parts at all", "b", "--b--".into(), Ok(vec![])),
        (
            "quoted parameters: escapes, semicolons, case, spaces",
            "b",
            "--b\r\ncontent-disposition: FORM-DATA ; NAME = \"a\\\"b;c\" ; filename=\"x;y.bin\"\r\n\r\nz\r\n--b--".into(),
            Ok(vec![file("a\"b;c", "x;y.bin", None, b"z")]),
        ),
        (
            "UTF-8 names and filenames as browsers send them",
            "b",
            format!("--b\r\n{CD}; name=\"Jörg\"; filename=\"café.txt\"\r\n\r\nz\r\n--b--"),
            Ok(vec![file("Jörg", "café.txt", None, b"z")]),
        ),
        (
            "a boundary of 70 bytes",
            "0123456789012345678901234567890123456789012345678901234567890123456789",
            format!(
                "--0123456789012345678901234567890123456789012345678901234567890123456789\r\n\
                 {CD}; name=a\r\n\r\nq\r\n\
                 --0123456789012345678901234567890123456789012345678901234567890123456789--"
            ),
            Ok(vec![field("a", "q")]),
        ),
        (
            "a boundary with spaces and punctuation",
            "a b'()+_,-./:=?",
            format!("--a b'()+_,-./:=?\r\n{CD}; name=a\r\n\r\nq\r\n--a b'()+_,-./:=?--"),
            Ok(vec![field("a", "q")]),
        ),
        (
            "missing closing delimiter",
            "b",
            format!("--b\r\n{CD}; name=a\r\n\r\nhello"),
            Err(MultipartError::UnexpectedEof),
        ),
        (
            "cut inside the closing delimiter",
            "b",
            format!("--b\r\n{CD}; name=a\r\n\r\nhello\r\n--b-"),
            Err(MultipartError::UnexpectedEof),
        ),
        (
            "cut inside a header section",
            "b",
            format!("--b\r\n{CD}; name=a\r\n"),
            Err(MultipartError::UnexpectedEof),
        ),
        ("empty body", "b", String::new(), Err(MultipartError::UnexpectedEof)),
        (
            "garbage after a delimiter",
            "b",
            format!("--bx\r\n{CD}; name=a\r\n\r\nq\r\n--b--"),
            Err(MultipartError::BadDelimiter),
        ),
        (
            "bare LF line ends",
            "b",
            format!("--b\n{CD}; name=a\n\nq\n--b--"),
            Err(MultipartError::BadDelimiter),
        ),
        (
            "no Content-Disposition",
            "b",
            "--b\r\nContent-Type: text/plain\r\n\r\nq\r\n--b--".into(),
            Err(MultipartError::MissingName),
        ),
        (
            "empty header section",
            "b",
            "--b\r\n\r\nq\r\n--b--".into(),
            Err(MultipartError::MissingName),
        ),
        (
            "not form-data",
            "b",
            "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nq\r\n--b--".into(),
            Err(MultipartError::MissingName),
        ),
        (
            "form-data without a name",
            "b",
            format!("--b\r\n{CD}; filename=a\r\n\r\nq\r\n--b--"),
            Err(MultipartError::MissingName),
        ),
        (
            "malformed header line",
            "b",
            "--b\r\nContent Disposition form-data\r\n\r\nq\r\n--b--".into(),
            Err(MultipartError::BadPartHeader),
        ),
    ];
    let limits = MultipartLimits::default();
    for (what, boundary, input, want) in cases {
        let got = parse_every_split(boundary, &limits, input.as_bytes());
        assert_eq!(got, want, "{what}");
    }
}

fn limits(f: impl FnOnce(&mut MultipartLimits)) -> MultipartLimits {
    let mut l = MultipartLimits::default();
    f(&mut l);
    l
}

#[test]
fn each_limit_is_a_typed_413() {
    let three = format!(
        "--b\r\n{CD}; name=a\r\n\r\n1\r\n--b\r\n{CD}; name=bb\r\n\r\n22\r\n\
         --b\r\n{CD}; name=ccc; filename=f\r\n\r\n333333\r\n--b--"
    );
    let ok = parse_every_split("b", &MultipartLimits::default(), three.as_bytes()).unwrap();
    assert_eq!(ok.len(), 3);

    let cases: Vec<(MultipartLimits, MultipartError)> = vec![
        (
            limits(|l| {
                l.max_parts(2);
            }),
            MultipartError::TooManyParts,
        ),
        (
            limits(|l| {
                l.max_name_bytes(2);
            }),
            MultipartError::NameTooLong,
        ),
        // Fields are bounded, files are not: "333333" (6 bytes) in a file passes.
        (
            limits(|l| {
                l.max_field_bytes(1);
            }),
            MultipartError::FieldTooLarge,
        ),
        (
            limits(|l| {
                l.max_header_bytes(30);
            }),
            MultipartError::HeaderTooLarge,
        ),
    ];
    for (limits, want) in cases {
        assert_eq!(
            parse_every_split("b", &limits, three.as_bytes()),
            Err(want),
            "{want:?}"
        );
        assert_eq!(want.status(), 413, "{want}");
        assert!(!want.to_string().is_empty());
    }
    // At the limit passes.
    let exact = limits(|l| {
        l.max_parts(3)
            .max_name_bytes(3)
            .max_field_bytes(2)
            .max_header_bytes(56);
    });
    assert_eq!(
        parse_every_split("b", &exact, three.as_bytes()).unwrap(),
        ok
    );
    // Files are not bounded by the field limit.
    let tiny_fields = limits(|l| {
        l.max_field_bytes(2);
    });
    assert_eq!(parse("b", &tiny_fields, &[three.as_bytes()]).unwrap(), ok);

    // A preamble without any delimiter is a format error once past its limit.
    let preamble = vec![b'x'; 100];
    let small = limits(|l| {
        l.max_preamble_bytes(50);
    });
    assert_eq!(
        parse_every_split("b", &small, &preamble),
        Err(MultipartError::BadDelimiter)
    );
    assert_eq!(MultipartError::BadDelimiter.status(), 400);

    // A header section without an end fails as soon as it passes the limit, long before
    // the body ends.
    let endless = format!("--b\r\n{CD}; name=a\r\nX: {}", "y".repeat(100_000));
    let mut mp = Multipart::new("b", MultipartLimits::default()).unwrap();
    let mut fed = 0;
    let err = loop {
        match mp.next_event() {
            Ok(MultipartEvent::NeedData) => {
                mp.receive(&endless.as_bytes()[fed..fed + 100]);
                fed += 100;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(err, MultipartError::HeaderTooLarge);
    assert!(fed < 9 * 1024, "fed {fed} bytes before the error");
}

#[test]
fn boundaries() {
    let ok = |b: &str| Multipart::new(b, MultipartLimits::default()).is_ok();
    assert!(ok("a"));
    assert!(ok(&"a".repeat(70)));
    assert!(!ok(""));
    assert!(!ok(&"a".repeat(71)));
    assert!(!ok("a\r\nb"));
    assert!(!ok("a\"b"));
    assert!(!ok("trailing "));
    assert!(!ok("é"));

    let from = |ct: &str| Multipart::boundary_from_content_type(ct.as_bytes());
    assert_eq!(
        from("multipart/form-data; boundary=abc").as_deref(),
        Some("abc")
    );
    assert_eq!(
        from("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a;b c\"").as_deref(),
        Some("a;b c")
    );
    assert_eq!(from("multipart/form-data"), None);
    assert_eq!(from("multipart/mixed; boundary=abc"), None);
    assert_eq!(from("text/plain; boundary=abc"), None);
}

#[test]
fn large_file_streams_in_linear_time() {
    // 8 MiB of content full of near-delimiters, fed in 1000-byte pieces; and a header
    // section fed one byte at a time. Quadratic rescans would take far longer than the
    // bound below even in a debug build.
    let mut content = Vec::new();
    while content.len() < 8 << 20 {
        content.extend_from_slice(b"\r\n--bounda\r\n-\r\r\n--boundar");
        content.extend_from_slice(&[b'z'; 40]);
    }
    let mut body = format!("--boundary\r\n{CD}; name=f; filename=x\r\n\r\n").into_bytes();
    body.extend_from_slice(&content);
    body.extend_from_slice(b"\r\n--boundary--\r\n");
    let pieces: Vec<&[u8]> = body.chunks(1000).collect();
    let start = std::time::Instant::now();
    let parts = parse("boundary", &MultipartLimits::default(), &pieces).unwrap();
    assert_eq!(parts[0].data, content);

    let head = format!(
        "--b\r\n{CD}; name=a\r\nX: {}\r\n\r\nq\r\n--b--",
        "y".repeat(8000)
    );
    let bytes: Vec<&[u8]> = head.as_bytes().chunks(1).collect();
    assert_eq!(
        parse("b", &MultipartLimits::default(), &bytes).unwrap(),
        [field("a", "q")]
    );
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}

/// Byte strings that look like multipart often enough to reach deep states.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            &b"--b"[..], b"--b--", b"\r\n--b\r\n", b"\r\n", b"\r", b"\n", b"-", b"--", b" ",
            b"Content-Disposition: form-data; name=\"a\"\r\n",
            b"Content-Disposition: form-data; name=f; filename=\"x\"\r\n",
            b"Content-Type: text/plain\r\n", b"\r\n\r\n", b"abc", b"\0", b";", b"\"", b"\t",
        ]).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 0..16),
    ]
}

/// Cut `input` at the given (unsorted, possibly repeated) points.
fn cut<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    at.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0;
    for p in at {
        pieces.push(&input[from..p]);
        from = p;
    }
    pieces.push(&input[from..]);
    pieces
}

fn name_strategy() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _.;é-]{1,12}"
}

fn part_strategy() -> impl Strategy<Value = Part> {
    (
        name_strategy(),
        prop::option::of(name_strategy()),
        prop::option::of(prop::sample::select(vec!["text/plain", "image/png"])),
        prop::collection::vec(
            prop_oneof![
                3 => any::<u8>(),
                1 => prop::sample::select(b"\r\n-b".to_vec()),
            ],
            0..300,
        ),
    )
        .prop_map(|(name, filename, ct, data)| Part {
            name,
            content_type: ct.filter(|_| filename.is_some()).map(Into::into),
            filename,
            data,
        })
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn serialize(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{boundary}\r\n{CD}; name={}", quote(&p.name)).as_bytes());
        if let Some(f) = &p.filename {
            out.extend_from_slice(format!("; filename={}", quote(f)).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = &p.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&p.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_or_spin(
        input in prop::collection::vec(fragment(), 0..32).prop_map(|v| v.concat()),
        points in prop::collection::vec(any::<usize>(), 0..8),
        small in any::<bool>(),
    ) {
        let limits = if small {
            limits(|l| {
            l.max_header_bytes(64).max_parts(2).max_field_bytes(4).max_name_bytes(2).max_preamble_bytes(8);
        })
        } else {
            MultipartLimits::default()
        };
        let whole = parse("b", &limits, &[&input]);
        // However it is split, the outcome is the same.
        prop_assert_eq!(parse("b", &limits, &cut(&input, &points)), whole);
    }

    #[test]
    fn random_parts_parse_back_at_random_splits(
        boundary in "[a-zA-Z0-9'()+_,./:=?-]{1,69}[a-z]",
        parts in prop::collection::vec(part_strategy(), 0..6),
        points in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        // The sender picks a boundary that is not in any content (RFC 2046 §5.1.1).
        let delimiter = format!("\r\n--{boundary}");
        prop_assume!(parts.iter().all(|p| {
            let framed = &p.data;
            !framed.windows(delimiter.len()).any(|w| w == delimiter.as_bytes())
        }));
        let body = serialize(&boundary, &parts);
        let got = parse(&boundary, &MultipartLimits::default(), &cut(&body, &points));
        prop_assert_eq!(got, Ok(parts));
    }
}
