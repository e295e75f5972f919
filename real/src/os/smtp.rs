//! keepalived's SMTP alert client (2.2.7 core/smtp.c): one plain-SMTP dialogue per mail.
//!
//! The dialogue is keepalived's, byte for byte: `HELO name`, `MAIL FROM:<from>`, one
//! `RCPT TO:<addr>` per recipient, `DATA`, then the headers `Date`, `From`, `Subject`,
//! `X-Mailer: Keepalived`, `To` and the body in one write, then `QUIT`. A reply code other
//! than the one expected skips to `QUIT`; every connect and every read has the
//! `smtp_connect_timeout`. Written on tokio rather than with an SMTP crate: lettre (the
//! obvious one) always opens with `EHLO` and checks addresses against RFC 5321, where
//! keepalived sends `HELO` and passes `notification_email` entries through as written
//! (`RCPT TO:<root>` for a local MTA).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// One mail, ready to send.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The SMTP server.
    pub server: SocketAddr,
    /// `smtp_connect_timeout`: for the connect and for each reply.
    pub timeout: Duration,
    /// The `HELO` name.
    pub helo: String,
    /// `notification_email_from`.
    pub from: String,
    /// `notification_email`, in order.
    pub to: Vec<String>,
    /// The whole subject.
    pub subject: String,
    /// The body.
    pub body: String,
}

/// The host's canonical name, keepalived's `local_name` (lib/utils.c `get_local_name`: the
/// `AI_CANONNAME` of `getaddrinfo` on the node name); `None` if that fails. Blocking.
pub fn local_name() -> Option<String> {
    let node = nix::unistd::gethostname().ok()?.into_string().ok()?;
    let node = std::ffi::CString::new(node).ok()?;
    // SAFETY: getaddrinfo reads the NUL-terminated name and hints and allocates `res`,
    // which freeaddrinfo releases; ai_canonname is read before that.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(node.as_ptr(), std::ptr::null(), &hints, &mut res) != 0 {
            return None;
        }
        let name = (!res.is_null() && !(*res).ai_canonname.is_null()).then(|| {
            std::ffi::CStr::from_ptr((*res).ai_canonname)
                .to_string_lossy()
                .into_owned()
        });
        libc::freeaddrinfo(res);
        name
    }
}

/// keepalived's name of the server in its logs (`inet_sockaddrtopair`): `[ADDR]:PORT`.
pub fn host(server: &SocketAddr) -> String {
    format!("[{}]:{}", server.ip(), server.port())
}

/// The local time as keepalived's `Date` header writes it (`strftime` with
/// `"%a, %d %b %Y %H:%M:%S %z"` on `localtime_r`, C locale), e.g.
/// `Mon, 01 Mar 2021 09:44:08 +0000`.
pub fn rfc822_now() -> String {
    // SAFETY: time, localtime_r and strftime write only into the buffers given.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return String::new();
        }
        let mut buf = [0u8; 80];
        let n = libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%a, %d %b %Y %H:%M:%S %z".as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// The DATA part keepalived sends after `354` (`SMTP_HEADERS_CMD SMTP_BODY_CMD
/// SMTP_SEND_CMD`): headers, blank line, body, and the terminating dot line.
pub fn message(mail: &Mail, date: &str) -> String {
    format!(
        "Date: {date}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{}\r\n\r\n.\r\n",
        mail.from,
        mail.subject,
        mail.to.join(", "),
        mail.body
    )
}

/// Why a dialogue stopped early.
enum Stop {
    /// Nothing more can be said: the message to log.
    Gone(String),
    /// Say `QUIT` first, then log this.
    Quit(String),
}

/// One connection and its read buffer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    timeout: Duration,
    host: String,
}

impl Conn {
    async fn send(&mut self, text: &str) -> Result<(), Stop> {
        self.stream.write_all(text.as_bytes()).await.map_err(|_| {
            Stop::Gone(format!(
                "Cannot send data to remote SMTP server {}.",
                self.host
            ))
        })
    }

    /// The code of the next reply: the last line of a multi-line reply (`250-...` lines
    /// are skipped), as keepalived's `smtp_read_thread` reads it.
    async fn reply(&mut self) -> Result<u16, Stop> {
        loop {
            while let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..p + 2).collect();
                if line.get(3) == Some(&b'-') {
                    continue;
                }
                let code = line
                    .iter()
                    .take(3)
                    .fold(0u16, |c, d| c * 10 + u16::from(d.wrapping_sub(b'0')));
                return Ok(code);
            }
            let mut chunk = [0u8; 1024];
            match timeout(self.timeout, self.stream.read(&mut chunk)).await {
                Err(_) => {
                    return Err(Stop::Quit(format!(
                        "Timeout reading data to remote SMTP server {}.",
                        self.host
                    )))
                }
                Ok(Err(_)) => {
                    return Err(Stop::Quit(format!(
                        "Error reading data from remote SMTP server {}.",
                        self.host
                    )))
                }
                Ok(Ok(0)) => {
                    return Err(Stop::Gone(format!(
                        "Remote SMTP server {} has closed the connection.",
                        self.host
                    )))
                }
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Waits for a reply with `code`; another code skips to `QUIT`.
    async fn expect(&mut self, code: u16, cmd: &str) -> Result<(), Stop> {
        let got = self.reply().await?;
        if got == code {
            Ok(())
        } else {
            Err(Stop::Quit(format!(
                "Error processing {cmd} cmd on SMTP server {}. SMTP status code = {got}",
                self.host
            )))
        }
    }

    /// The whole dialogue after the connect, up to the reply to `QUIT`.
    async fn dialogue(&mut self, mail: &Mail) -> Result<(), Stop> {
        self.expect(220, "(E)SMTP").await?;
        self.send(&format!("HELO {}\r\n", mail.helo)).await?;
        self.expect(250, "HELO").await?;
        self.send(&format!("MAIL FROM:<{}>\r\n", mail.from)).await?;
        self.expect(250, "MAIL").await?;
        for to in &mail.to {
            self.send(&format!("RCPT TO:<{to}>\r\n")).await?;
            self.expect(250, "RCPT").await?;
        }
        self.send("DATA\r\n").await?;
        self.expect(354, "DATA").await?;
        self.send(&message(mail, &rfc822_now())).await?;
        self.expect(250, "BODY").await?;
        tracing::debug!("SMTP alert successfully sent.");
        self.send("QUIT\r\n").await?;
        // keepalived closes after any reply to QUIT, or its timeout.
        let _ = self.reply().await;
        Ok(())
    }
}

/// Sends one mail. The error is keepalived's log line for the failure.
pub async fn send(mail: &Mail) -> Result<(), String> {
    let host = host(&mail.server);
    let stream = match timeout(mail.timeout, TcpStream::connect(mail.server)).await {
        Err(_) => {
            return Err(format!(
                "Timeout opening connection to remote SMTP server {host}."
            ))
        }
        Ok(Err(_)) => return Err(format!("SMTP connection ERROR to {host}.")),
        Ok(Ok(s)) => s,
    };
    tracing::debug!("Remote SMTP server {host} connected.");
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        timeout: mail.timeout,
        host,
    };
    match conn.dialogue(mail).await {
        Ok(()) => Ok(()),
        Err(Stop::Gone(why)) => Err(why),
        Err(Stop::Quit(why)) => {
            if conn.send("QUIT\r\n").await.is_ok() {
                let _ = conn.reply().await;
            }
            Err(why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_has_keepalived_s_headers() {
        let mail = Mail {
            server: "192.0.2.1:25".parse().unwrap(),
            timeout: Duration::from_secs(30),
            helo: "lb1".into(),
            from: "root@lb1".into(),
            to: vec!["a@example.com".into(), "b@example.com".into()],
            subject: "[lb1] VRRP Instance VI_1 - Entering MASTER state".into(),
            body: "=> VRRP Instance is now owning VRRP VIPs <=".into(),
        };
        assert_eq!(
            message(&mail, "Mon, 01 Mar 2021 09:44:08 +0000"),
            "Date: Mon, 01 Mar 2021 09:44:08 +0000\r\nFrom: root@lb1\r\n\
             Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\n\
             X-Mailer: Keepalived\r\nTo: a@example.com, b@example.com\r\n\r\n\
             => VRRP Instance is now owning VRRP VIPs <=\r\n\r\n.\r\n"
        );
        assert_eq!(host(&mail.server), "[192.0.2.1]:25");
    }

    #[test]
    fn the_date_reads_as_rfc_822() {
        let d = rfc822_now();
        // e.g. "Mon, 01 Mar 2021 09:44:08 +0000"
        assert_eq!(d.len(), 31, "{d}");
        assert_eq!(&d[3..5], ", ");
        assert!(d[26..].starts_with('+') || d[26..].starts_with('-'), "{d}");
    }
}
