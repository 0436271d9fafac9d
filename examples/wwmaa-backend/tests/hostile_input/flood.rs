//! The floods: requests of every kind with random paths, methods, queries and propagation
//! headers, sent over keep-alive connections.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;

use crate::raw_http::{connect, read_response};
use crate::rng::{Rng, ALNUM, LOWER_DIGITS, METHOD_CHARS, PATH_CHARS};

/// Requests per flood. Each carries about 9 KB of input that no other request repeats (1.2 KB
/// of path and query, 0.5 KB of `tracestate`, 7 KB of `baggage` on average), so a flood is
/// some 27 MB of distinct paths, queries and headers.
pub(crate) const FLOOD: usize = 3_000;
/// Keep-alive connections per flood.
pub(crate) const CONNECTIONS: usize = 8;

/// The requests of a flood, each with the status it must get and the labels it must be
/// counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// `GET /x/<random>?<random>=<random>`: no route.
    UnmatchedGet,
    /// `<random method> /x/<random>`: no route, an unknown method.
    UnmatchedOther,
    /// `GET /api/members/z<random>`: the route, an ID that does not parse.
    BadId,
    /// `GET /api/members/<random number>`: the route, a member that does not exist (a
    /// database query and a cache miss each time).
    MissingId,
    /// `<random method> /api/members/<random>`: the route, a method it does not allow.
    MemberOther,
    /// `GET /api/members?q<random>=<random>`: the route, an unknown query parameter.
    BadQuery,
}

impl Kind {
    pub(crate) const ALL: [Kind; 6] = [
        Kind::UnmatchedGet,
        Kind::UnmatchedOther,
        Kind::BadId,
        Kind::MissingId,
        Kind::MemberOther,
        Kind::BadQuery,
    ];

    pub(crate) fn status(self) -> u16 {
        match self {
            Kind::UnmatchedGet | Kind::UnmatchedOther | Kind::MissingId => 404,
            Kind::BadId | Kind::BadQuery => 400,
            Kind::MemberOther => 405,
        }
    }

    /// `(http_request_method, http_route, http_response_status_code)` of its series.
    pub(crate) fn series(self) -> Series {
        let (method, route) = match self {
            Kind::UnmatchedGet => ("GET", None),
            Kind::UnmatchedOther => ("_OTHER", None),
            Kind::BadId | Kind::MissingId => ("GET", Some("/api/members/{id}")),
            Kind::MemberOther => ("_OTHER", Some("/api/members/{id}")),
            Kind::BadQuery => ("GET", Some("/api/members")),
        };
        (
            method.to_owned(),
            route.map(str::to_owned),
            self.status().to_string(),
        )
    }
}

pub(crate) type Series = (String, Option<String>, String);

/// The `tracestate` a request carries, named in its `User-Agent` so that its span can be
/// checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TraceState {
    None,
    /// 32 members, the most the specification allows, about 700 characters.
    Full,
    /// 33 members: invalid, so dropped whole.
    TooMany,
}

impl TraceState {
    pub(crate) fn tag(self) -> &'static str {
        match self {
            TraceState::None => "ts0",
            TraceState::Full => "ts32",
            TraceState::TooMany => "ts33",
        }
    }
}

pub(crate) fn tracestate(rng: &mut Rng, members: usize) -> String {
    (0..members)
        .map(|i| {
            let key = format!("k{i}{}", rng.word(4, 10, LOWER_DIGITS));
            let value = rng.word(8, 14, ALNUM);
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `entries` distinct baggage entries with values of `value_len` characters.
pub(crate) fn baggage(rng: &mut Rng, entries: usize, value_len: usize) -> String {
    (0..entries)
        .map(|i| {
            format!(
                "b{i}{}={}",
                rng.text(6, LOWER_DIGITS),
                rng.text(value_len, ALNUM)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One request of `kind` with random everything else.
pub(crate) fn hostile_request(rng: &mut Rng, kind: Kind) -> Vec<u8> {
    let random_method = |rng: &mut Rng| {
        // `Z` first, so that it is never a method the conventions know.
        format!("Z{}", rng.word(2, 40, METHOD_CHARS))
    };
    let (method, target) = match kind {
        Kind::UnmatchedGet => (
            "GET".to_owned(),
            format!(
                "/x/{}?{}={}",
                rng.word(1000, 2000, PATH_CHARS),
                rng.word(1, 40, ALNUM),
                rng.word(500, 1500, ALNUM)
            ),
        ),
        Kind::UnmatchedOther => (
            random_method(rng),
            format!("/x/{}", rng.word(1000, 2000, PATH_CHARS)),
        ),
        Kind::BadId => (
            "GET".to_owned(),
            format!("/api/members/z{}", rng.word(500, 1500, ALNUM)),
        ),
        Kind::MissingId => (
            "GET".to_owned(),
            format!("/api/members/{}", 100_000_000 + rng.below(900_000_000)),
        ),
        Kind::MemberOther => (
            random_method(rng),
            format!("/api/members/{}", rng.word(500, 1500, ALNUM)),
        ),
        Kind::BadQuery => (
            "GET".to_owned(),
            format!(
                "/api/members?q{}={}",
                rng.word(1, 60, ALNUM),
                rng.word(500, 1900, ALNUM)
            ),
        ),
    };
    let state = [TraceState::None, TraceState::Full, TraceState::TooMany][rng.below(3)];
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: hostile/{}/{}\r\nX-Request-ID: {}\r\ntraceparent: 00-{}-{}-01\r\n",
        state.tag(),
        rng.word(10, 200, ALNUM),
        rng.word(1, 100, ALNUM),
        rng.hex(32),
        rng.hex(16),
    );
    match state {
        TraceState::None => {}
        TraceState::Full => head.push_str(&format!("tracestate: {}\r\n", tracestate(rng, 32))),
        TraceState::TooMany => head.push_str(&format!("tracestate: {}\r\n", tracestate(rng, 33))),
    }
    match rng.below(4) {
        0 => {}
        // Within the 8192-byte limit: 64 entries (the most kept) and 180 (cut to 64).
        1 => head.push_str(&format!("baggage: {}\r\n", baggage(rng, 64, 110))),
        2 => head.push_str(&format!("baggage: {}\r\n", baggage(rng, 180, 35))),
        // Past it (about 13 KB): dropped whole.
        _ => head.push_str(&format!("baggage: {}\r\n", baggage(rng, 300, 35))),
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Sends `FLOOD` requests of every kind in turn over `CONNECTIONS` keep-alive connections;
/// each must get its kind's status. Returns how many requests of each kind were sent.
pub(crate) fn flood(addr: SocketAddr, seed: u64) -> BTreeMap<Kind, usize> {
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|thread| {
            std::thread::spawn(move || {
                let mut rng =
                    Rng::new(seed ^ (thread as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let mut connection = connect(addr);
                let mut sent = BTreeMap::new();
                for i in (thread..FLOOD).step_by(CONNECTIONS) {
                    let kind = Kind::ALL[i % Kind::ALL.len()];
                    let request = hostile_request(&mut rng, kind);
                    connection
                        .get_mut()
                        .write_all(&request)
                        .unwrap_or_else(|e| panic!("seed {seed}: writing a {kind:?} request: {e}"));
                    let response = read_response(&mut connection).unwrap_or_else(|e| {
                        panic!("seed {seed}: no response to a {kind:?} request: {e}")
                    });
                    assert_eq!(
                        response.status,
                        kind.status(),
                        "seed {seed}: {kind:?}: {}\n{}",
                        String::from_utf8_lossy(&response.body),
                        String::from_utf8_lossy(&request[..request.len().min(300)])
                    );
                    *sent.entry(kind).or_insert(0) += 1;
                    if response.closes() {
                        connection = connect(addr);
                    }
                }
                sent
            })
        })
        .collect();
    let mut total = BTreeMap::new();
    for thread in threads {
        for (kind, count) in thread.join().expect("a flood connection failed") {
            *total.entry(kind).or_insert(0) += count;
        }
    }
    total
}
