//! Scraping `vrrpd-real --metrics` from inside a lab namespace, and a thread that lives in one.

use prometheus_parse::{Scrape, Value};
use vrrp_lab::Lab;

/// The port the metrics tests serve on.
pub const PORT: u16 = 9650;

/// The body of `GET http://HOST_I:PORT/metrics` fetched inside host `i`'s namespace (curl).
pub fn fetch(lab: &Lab, i: usize) -> Option<String> {
    let url = format!("http://{}:{PORT}/metrics", lab.hosts[i].ip);
    let out = lab
        .command(i, "curl")
        .args(["-sf", "--max-time", "2", &url])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A scrape parsed with the Prometheus text parser.
pub fn scrape(lab: &Lab, i: usize) -> Option<(String, Scrape)> {
    let text = fetch(lab, i)?;
    let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    Some((text, parsed))
}

/// The value of `metric` with every label in `labels`.
pub fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

/// Runs `f` on a new thread inside host `i`'s network namespace (setns on that thread only:
/// the sockets it opens live there).
pub fn in_host<T: Send + 'static>(
    lab: &Lab,
    i: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    use std::os::fd::AsRawFd;
    let path = format!("/run/netns/{}", lab.hosts[i].ns);
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: setns(2) with a namespace file we just opened; it changes this thread's
        // network namespace only.
        let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
}
