//! HEIC/AVIF decodes in a child process, so that the job's time limit and memory reservation
//! hold however libheif, libde265 or dav1d behave on a crafted file: libheif 1.15 (Debian 12)
//! has no way to cancel a decode (`cancel_decoding` came in 1.19), and a codec's allocations are
//! not ours to refuse. The child is the application's own executable started with
//! [`CHILD_ARG`]: it reads the file on stdin, caps its data segment (`RLIMIT_DATA`) at the
//! file's [`probe`](crate::probe) estimate, keeps to one CPU (so dav1d starts no thread per
//! core), runs the whole pipeline and writes the variants on
//! stdout; the parent kills it at the deadline.
//!
//! Wiring: the binary calls [`init`] first thing in `main`. Tests of other binaries point
//! [`use_program`] at an executable that calls [`init`] (or [`child_main`]).

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::{
    ImageError, OutputFormat, Pdq, PdqHash, Processed, SourceFormat, Variant, VariantName,
};

/// The hidden first argument that makes the executable serve one decode.
pub const CHILD_ARG: &str = "__ciel-imaging-child";

const REQUEST_MAGIC: &[u8; 8] = b"CIELIMG1";
/// Largest answer read back: eight variants of a 2048 px photo are a few MB.
const MAX_ANSWER_BYTES: u64 = 256 << 20;

static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// First thing in `main`: when started as a decode child ([`CHILD_ARG`]), serves the decode and
/// exits; otherwise makes this process's HEIC/AVIF decodes run in children of its own
/// executable.
pub fn init() {
    if std::env::args_os().nth(1).as_deref() == Some(OsStr::new(CHILD_ARG)) {
        child_main();
    }
    if let Ok(exe) = std::env::current_exe() {
        use_program(exe);
    }
}

/// Makes [`process_within`](crate::process_within) run HEIC/AVIF files in children of
/// `program` (started with [`CHILD_ARG`]). The first call wins.
pub fn use_program(program: impl Into<PathBuf>) {
    let _ = PROGRAM.set(program.into());
}

pub(crate) fn program() -> Option<&'static PathBuf> {
    PROGRAM.get()
}

/// The child: serves one request from stdin and exits.
pub fn child_main() -> ! {
    child_main_with(crate::process_within)
}

/// [`child_main`] with another pipeline (for tests of the parent's limits).
pub fn child_main_with(process: impl FnOnce(&[u8], Instant) -> Result<Processed, ImageError>) -> ! {
    let mut request = Vec::new();
    if std::io::stdin().read_to_end(&mut request).is_err() {
        std::process::exit(2);
    }
    let Some((time_left, memory_limit, bytes)) = parse_request(&request) else {
        std::process::exit(2);
    };
    if limit_data_segment(memory_limit).is_err() {
        std::process::exit(3);
    }
    run_on_one_cpu();
    let result = process(bytes, Instant::now() + time_left);
    let answer = encode_answer(&result);
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(&answer)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(2);
    }
    std::process::exit(0);
}

fn parse_request(request: &[u8]) -> Option<(Duration, u64, &[u8])> {
    let rest = request.strip_prefix(REQUEST_MAGIC)?;
    let micros = u64::from_be_bytes(rest.get(0..8)?.try_into().ok()?);
    let limit = u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?);
    Some((Duration::from_micros(micros), limit, &rest[16..]))
}

/// Caps what this process may still allocate (heap, anonymous mappings, thread stacks) at
/// `bytes` beyond what it holds now. Code and read-only mappings do not count.
fn limit_data_segment(bytes: u64) -> std::io::Result<()> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let now_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmData:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| std::io::Error::other("no VmData"))?;
    let limit = now_kb.saturating_mul(1024).saturating_add(bytes);
    let rlimit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: setrlimit reads the struct we pass; it only lowers this process's own limit.
    if unsafe { libc::setrlimit(libc::RLIMIT_DATA, &rlimit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Keeps this process on the CPU it runs on. dav1d starts one thread per CPU it may use (two
/// here, dozens on a large host), each with its own stack and scratch buffers that count against
/// the data limit; a job gets one thread, as libheif's own tile decoding does
/// (`heif_context_set_max_decoding_threads(1)`). Best effort: on failure the limit still holds.
fn run_on_one_cpu() {
    // SAFETY: plain syscalls on this process, with a cpu_set_t we own and zeroed.
    unsafe {
        let cpu = libc::sched_getcpu();
        if cpu < 0 {
            return;
        }
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu as usize, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Why a child could not be used at all (the caller then decodes in process).
#[derive(Debug)]
pub(crate) struct SpawnFailed;

/// Runs the pipeline on `bytes` in a child of `program`, allowed `memory_limit` bytes beyond
/// its start and killed at `deadline`.
pub(crate) fn process_in_child(
    program: &PathBuf,
    bytes: &[u8],
    deadline: Instant,
    memory_limit: u64,
) -> Result<Result<Processed, ImageError>, SpawnFailed> {
    let mut child = Command::new(program)
        .arg(CHILD_ARG)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|_| SpawnFailed)?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(SpawnFailed);
    };
    let time_left = deadline.saturating_duration_since(Instant::now());
    let mut header = REQUEST_MAGIC.to_vec();
    header.extend(
        u64::try_from(time_left.as_micros())
            .unwrap_or(u64::MAX)
            .to_be_bytes(),
    );
    header.extend(memory_limit.to_be_bytes());
    let (sender, receiver) = mpsc::channel();
    let (answer, status) = std::thread::scope(|scope| {
        scope.spawn(move || {
            // A child that dies early closes its stdin: the write fails, the read ends.
            let _ = stdin
                .write_all(&header)
                .and_then(|()| stdin.write_all(bytes));
            drop(stdin);
            let mut answer = Vec::new();
            let read = stdout.take(MAX_ANSWER_BYTES).read_to_end(&mut answer);
            let _ = sender.send(read.map(|_| answer));
        });
        let answer = receiver.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        if answer.is_err() {
            // Past the deadline: the decode stops here, whatever it was doing.
            let _ = child.kill();
        }
        (answer, child.wait())
    });
    Ok(match (answer, status) {
        (Err(_), _) => Err(ImageError::TimedOut),
        (Ok(Ok(answer)), Ok(status)) if status.success() => decode_answer(&answer)
            .unwrap_or_else(|| Err(corrupt("the decoder's answer is unreadable"))),
        (_, Ok(status)) => Err(stopped(status, memory_limit)),
        (_, Err(_)) => Err(corrupt("the decoder vanished")),
    })
}

fn corrupt(what: &str) -> ImageError {
    ImageError::Corrupt(format!("HEIF: {what}"))
}

fn stopped(status: ExitStatus, memory_limit: u64) -> ImageError {
    use std::os::unix::process::ExitStatusExt;
    let how = match status.signal() {
        Some(signal) => format!("signal {signal}"),
        None => format!("status {}", status.code().unwrap_or(-1)),
    };
    corrupt(&format!(
        "the decoder stopped on this file ({how}; its memory limit was {} MB)",
        memory_limit >> 20
    ))
}

// ------------------------------------------------------------------ the answer

const FORMATS: [SourceFormat; 5] = [
    SourceFormat::Jpeg,
    SourceFormat::Png,
    SourceFormat::Webp,
    SourceFormat::Heic,
    SourceFormat::Avif,
];

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend((bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn encode_answer(result: &Result<Processed, ImageError>) -> Vec<u8> {
    let mut out = Vec::new();
    match result {
        Ok(p) => {
            out.push(0);
            out.push(
                FORMATS
                    .iter()
                    .position(|f| *f == p.source_format)
                    .unwrap_or(0) as u8,
            );
            out.extend(p.width.to_be_bytes());
            out.extend(p.height.to_be_bytes());
            put(&mut out, p.blurhash.as_bytes());
            out.extend_from_slice(p.pdq.hash.as_bytes());
            out.push(p.pdq.quality);
            out.extend((p.variants.len() as u32).to_be_bytes());
            for v in &p.variants {
                let name = VariantName::ALL.iter().position(|n| *n == v.name);
                let format = OutputFormat::ALL.iter().position(|f| *f == v.format);
                out.push(name.unwrap_or(0) as u8);
                out.push(format.unwrap_or(0) as u8);
                out.extend(v.width.to_be_bytes());
                out.extend(v.height.to_be_bytes());
                put(&mut out, &v.bytes);
            }
        }
        Err(e) => {
            out.push(1);
            match e {
                ImageError::Empty => out.push(0),
                ImageError::Unsupported => out.push(1),
                ImageError::TooLarge { width, height } => {
                    out.push(2);
                    out.extend(width.to_be_bytes());
                    out.extend(height.to_be_bytes());
                }
                ImageError::Corrupt(message) => {
                    out.push(3);
                    put(&mut out, message.as_bytes());
                }
                ImageError::TimedOut => out.push(4),
            }
        }
    }
    out
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

fn decode_answer(answer: &[u8]) -> Option<Result<Processed, ImageError>> {
    let mut c = Cursor(answer);
    let result = match c.u8()? {
        0 => {
            let source_format = *FORMATS.get(usize::from(c.u8()?))?;
            let (width, height) = (c.u32()?, c.u32()?);
            let blurhash = c.string()?;
            let hash = PdqHash::from_slice(c.take(32)?)?;
            let quality = c.u8()?;
            let count = c.u32()?;
            let mut variants = Vec::new();
            for _ in 0..count {
                variants.push(Variant {
                    name: *VariantName::ALL.get(usize::from(c.u8()?))?,
                    format: *OutputFormat::ALL.get(usize::from(c.u8()?))?,
                    width: c.u32()?,
                    height: c.u32()?,
                    bytes: c.bytes()?.to_vec(),
                });
            }
            Ok(Processed {
                source_format,
                width,
                height,
                blurhash,
                pdq: Pdq { hash, quality },
                variants,
            })
        }
        1 => Err(match c.u8()? {
            0 => ImageError::Empty,
            1 => ImageError::Unsupported,
            2 => ImageError::TooLarge {
                width: c.u32()?,
                height: c.u32()?,
            },
            3 => ImageError::Corrupt(c.string()?),
            4 => ImageError::TimedOut,
            _ => return None,
        }),
        _ => return None,
    };
    c.0.is_empty().then_some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip() {
        let processed = Processed {
            source_format: SourceFormat::Avif,
            width: 1200,
            height: 900,
            blurhash: "LEHV6nWB2yk8".into(),
            pdq: Pdq {
                hash: PdqHash::from_bytes([0xa5; 32]),
                quality: 87,
            },
            variants: vec![Variant {
                name: VariantName::Medium,
                format: OutputFormat::Jpeg,
                width: 1080,
                height: 810,
                bytes: vec![1, 2, 3],
            }],
        };
        let answer = encode_answer(&Ok(processed.clone()));
        assert_eq!(decode_answer(&answer).unwrap().unwrap(), processed);
        // a cut or padded answer is unreadable, never a panic
        for cut in 0..answer.len() {
            assert!(decode_answer(&answer[..cut]).is_none());
        }
        assert!(decode_answer(&[answer.clone(), vec![0]].concat()).is_none());
        let errors = [
            ImageError::Empty,
            ImageError::Unsupported,
            ImageError::TooLarge {
                width: 1,
                height: 2,
            },
            ImageError::Corrupt("x".into()),
            ImageError::TimedOut,
        ];
        for e in errors {
            let (code, message) = (e.code(), e.to_string());
            let back = decode_answer(&encode_answer(&Err(e))).unwrap().unwrap_err();
            assert_eq!((back.code(), back.to_string()), (code, message));
        }
    }

    #[test]
    fn requests_are_checked() {
        let mut request = REQUEST_MAGIC.to_vec();
        request.extend(1_500_000u64.to_be_bytes());
        request.extend((64u64 << 20).to_be_bytes());
        request.extend(b"file");
        assert_eq!(
            parse_request(&request),
            Some((Duration::from_millis(1500), 64 << 20, &b"file"[..]))
        );
        assert_eq!(parse_request(&request[..20]), None);
        assert_eq!(parse_request(b"CIELIMG0"), None);
    }
}
