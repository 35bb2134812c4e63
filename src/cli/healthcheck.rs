//! `ciel healthcheck`: the container's `HEALTHCHECK`. The image has no
//! shell and no curl, so the binary asks its own `/health` over plain
//! HTTP/1.1 on the port it listens on, with blocking I/O and hard timeouts.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Connect, send and read each get this long; the container runtime kills
/// the check after its own timeout anyway.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The status line and headers of a `/health` answer fit well in this.
const MAX_RESPONSE: usize = 4096;

/// Where to reach a server listening on `listen`: a wildcard address is
/// reached on loopback.
pub fn target(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// GETs `/health` on `addr`; `Ok` only on a 200.
pub fn check(addr: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| format!("socket: {e}"))?;
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: ciel-healthcheck\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send to {addr}: {e}"))?;
    let mut response = Vec::with_capacity(256);
    stream
        .take(MAX_RESPONSE as u64)
        .read_to_end(&mut response)
        .map_err(|e| format!("no answer from {addr}: {e}"))?;
    let status_line = response
        .split(|&b| b == b'\n')
        .next()
        .map(|line| String::from_utf8_lossy(line).trim().to_string())
        .unwrap_or_default();
    match status_line.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        Some(_) => Err(format!("/health on {addr} answered {status_line:?}")),
        None => Err(format!("/health on {addr} sent no HTTP status line")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_are_reached_on_loopback() {
        let cases = [
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("[::]:9000", "[::1]:9000"),
            ("10.1.2.3:8080", "10.1.2.3:8080"),
        ];
        for (listen, expected) in cases {
            assert_eq!(
                target(listen.parse().unwrap()),
                expected.parse::<SocketAddr>().unwrap()
            );
        }
    }

    /// Serves one connection with `answer`, as a server would.
    fn serve_once(answer: &'static [u8]) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(answer);
        });
        addr
    }

    #[test]
    fn only_a_200_is_healthy() {
        assert_eq!(
            check(serve_once(
                b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}"
            )),
            Ok(())
        );
        let err = check(serve_once(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")).unwrap_err();
        assert!(err.contains("503"), "{err}");
        let err = check(serve_once(b"")).unwrap_err();
        assert!(err.contains("no HTTP status line"), "{err}");
    }

    #[test]
    fn nothing_listening_is_unhealthy() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = check(SocketAddr::from(([127, 0, 0, 1], port))).unwrap_err();
        assert!(err.contains("cannot connect"), "{err}");
    }
}
