//! Starts the `web` binary on a free loopback port and talks plain HTTP to
//! it, for the tests of the web application.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// The running web application; killed when dropped.
pub(crate) struct WebApp {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// `127.0.0.1:PORT`.
    pub(crate) host: String,
    log: Arc<Mutex<String>>,
}

impl WebApp {
    /// Starts the application in memory.
    pub(crate) fn in_memory() -> Self {
        Self::start(&["--memory"])
    }

    /// Starts the application over the SQLite file `path`.
    pub(crate) fn on_sqlite(path: &Path) -> Self {
        Self::start(&["--database", path.to_str().unwrap()])
    }

    /// Starts the application with `args`.
    pub(crate) fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_web"))
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the web binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let host = line
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        WebApp {
            child,
            base: format!("http://{host}"),
            host,
            log,
        }
    }

    /// What the application wrote to its log so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops the application and waits for it to end.
    pub(crate) fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.log()
    }
}

impl Drop for WebApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status code.
    pub(crate) status: u16,
    /// The headers, names in lower case (the last of repeated ones, but
    /// every `set-cookie` joined by newlines).
    pub(crate) headers: BTreeMap<String, String>,
    /// The body.
    pub(crate) body: String,
}

/// A browser-less client with a cookie jar.
pub(crate) struct Client {
    host: String,
    /// The cookies set so far.
    pub(crate) cookies: BTreeMap<String, String>,
}

impl Client {
    /// A client of `app`.
    pub(crate) fn new(app: &WebApp) -> Self {
        Client {
            host: app.host.clone(),
            cookies: BTreeMap::new(),
        }
    }

    /// The CSRF cookie's value.
    pub(crate) fn csrf(&self) -> String {
        self.cookies
            .get("mci_csrf")
            .cloned()
            .expect("a CSRF cookie")
    }

    /// A request; `extra` headers are sent as given.
    pub(crate) fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut stream = TcpStream::connect(&self.host).unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.host
        );
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        for (name, value) in extra {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            if !extra
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            {
                request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
            }
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        if let Some(body) = body {
            request.push_str(body);
        }
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap();
        let mut headers = BTreeMap::new();
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                let value = value.trim().to_owned();
                if name == "set-cookie" {
                    if let Some((pair, _)) = value.split_once(';')
                        && let Some((k, v)) = pair.split_once('=')
                    {
                        self.cookies.insert(k.to_owned(), v.to_owned());
                    }
                    headers
                        .entry(name)
                        .and_modify(|all: &mut String| {
                            all.push('\n');
                            all.push_str(&value);
                        })
                        .or_insert(value);
                } else {
                    headers.insert(name, value);
                }
            }
        }
        let body = if headers
            .get("transfer-encoding")
            .is_some_and(|t| t == "chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub(crate) fn get(&mut self, path: &str) -> Answer {
        self.request("GET", path, None, &[])
    }

    /// `POST path` with the form `fields` and this session's CSRF token.
    pub(crate) fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, String)> =
            fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        all.push(("csrf", self.csrf()));
        let origin = format!("http://{}", self.host);
        self.request("POST", path, Some(&form(&all)), &[("Origin", &origin)])
    }
}

impl Client {
    /// `POST path` of a file upload: the multipart form `kind` and `file`,
    /// the CSRF token in the query as the page's form carries it.
    pub(crate) fn upload(&mut self, path: &str, kind: &str, name: &str, content: &str) -> Answer {
        let boundary = "----mci-test-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/pdf\r\n\r\n{content}\r\n--{boundary}--\r\n"
        );
        let origin = format!("http://{}", self.host);
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let path = format!("{path}?csrf={}", self.csrf());
        self.request(
            "POST",
            &path,
            Some(&body),
            &[("Origin", &origin), ("Content-Type", &content_type)],
        )
    }
}

/// A form body.
pub(crate) fn form(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// The first text in `haystack` between `start` and the next `end`.
pub(crate) fn between<'a>(haystack: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = haystack.find(start)? + start.len();
    let len = haystack[from..].find(end)?;
    Some(&haystack[from..from + len])
}
