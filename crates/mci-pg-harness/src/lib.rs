//! Throwaway PostgreSQL clusters for tests: each [`Cluster`] is a new
//! database cluster in a temporary directory, started from the PostgreSQL
//! binaries installed on the machine, and stopped and removed when it is
//! dropped, also when the test panics.
//!
//! ```
//! use mci_pg_harness::Cluster;
//!
//! // Skipped, with one line on stderr saying why, where PostgreSQL is not
//! // installed (and a failure under MCI_REQUIRE_POSTGRES=1).
//! if let Some(cluster) = Cluster::start_or_skip("harness doc example") {
//!     cluster.create_database("mci").unwrap();
//!     assert_eq!(cluster.psql("mci", "SELECT 40 + 2").unwrap(), "42");
//!     assert!(cluster.connection_string("mci").contains("mci"));
//! } // stopped (pg_ctl stop -m immediate) and removed here
//! ```
//!
//! # Where the binaries are found
//!
//! In the directory `MCI_POSTGRES_BIN` names when it is set; else in the
//! first directory of `PATH` holding `initdb`, `pg_ctl` and `postgres`
//! (symbolic links are followed to the directory they point into, where
//! `psql` is too); else in Debian's `/usr/lib/postgresql/<version>/bin`, the
//! newest version first. Install them with `apt-get install postgresql`.
//!
//! # Users
//!
//! `initdb` and the server refuse to run as root. When the tests run as
//! root, the cluster runs as the `postgres` user (which Debian's package
//! creates), or `nobody` where there is none, through `setpriv`; its
//! temporary directory is handed to that user. Otherwise it runs as the
//! user running the tests.
//!
//! # What a cluster is
//!
//! A new data directory (`initdb --auth=trust`, superuser `postgres`,
//! encoding UTF-8, locale C), a server listening on a Unix socket in the
//! temporary directory and on a free port of 127.0.0.1, with `fsync` off
//! unless [`Builder::setting`] turns it on. The server is the child of the
//! thread that started it and is killed when that thread ends (Linux's
//! parent-death signal, set by `setpriv --pdeathsig`), so that a test
//! process killed before it could drop its clusters leaves no server
//! running: start a cluster on the thread that owns it (a test's own
//! thread), not on a pool thread that may end before the cluster is
//! dropped. [`Cluster::kill`] crashes the server (`SIGKILL` of the
//! postmaster and of every process it started) and [`Cluster::restart`]
//! starts it again on its data directory, for tests of durability.
//!
//! # A server of your own: `MCI_POSTGRES_URL`
//!
//! When `MCI_POSTGRES_URL` is set to a connection string (a
//! `postgres://user@host:port/database` URL or `key=value` pairs), the
//! tests that take any server ([`Cluster::start_or_skip`]) use that server
//! instead of starting one, and need no PostgreSQL binaries but `psql`:
//! each database a test creates is named there after the test process, the
//! instant and a count (`mci_<pid>_<micros>_<n>_<name>`), reached by the
//! name the test gave it, and dropped (`WITH (FORCE)`) when the cluster is;
//! the role must be allowed to create databases, and the caller's `PG*`
//! variables (a password, `PGSSLMODE`) reach `psql`. Tests that need
//! settings of their own or a server to kill ([`Cluster::builder`]) always
//! start a cluster. [`Cluster::is_external`] tells which a test has.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::ffi::OsString;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

/// The variable that, set to anything but `0` or nothing, makes a missing
/// PostgreSQL fail [`Cluster::start_or_skip`] instead of skipping.
pub const REQUIRE_VAR: &str = "MCI_REQUIRE_POSTGRES";

/// The variable naming the directory of the PostgreSQL binaries to use.
pub const BIN_VAR: &str = "MCI_POSTGRES_BIN";

/// The variable naming a PostgreSQL server to use instead of starting a
/// cluster: a connection string (`postgres://user@host/db` or
/// `host=... user=...`) to a database of a role that may create
/// databases.
pub const URL_VAR: &str = "MCI_POSTGRES_URL";

/// The superuser of every cluster.
pub const SUPERUSER: &str = "postgres";

/// How long a server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How many ports are tried when the one picked is taken meanwhile.
const PORT_TRIES: u32 = 8;

/// The longest path of a Unix socket (`sun_path`, less its final NUL).
const SOCKET_PATH_MAX: usize = 107;

/// Why a cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// No PostgreSQL binaries were found.
    #[error(
        "PostgreSQL is not installed: no initdb, pg_ctl and postgres in {}",
        .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NotInstalled {
        /// The directories that were searched.
        searched: Vec<PathBuf>,
    },
    /// `MCI_POSTGRES_BIN` names a directory without the binaries.
    #[error("{BIN_VAR}={dir} holds no initdb, pg_ctl and postgres")]
    BadBinDir {
        /// The directory named.
        dir: PathBuf,
    },
    /// The tests run as root, and there is no unprivileged user to run the
    /// cluster as, or no `setpriv` to become it.
    #[error("running as root, and cannot run PostgreSQL as an unprivileged user: {0}")]
    NoUser(String),
    /// The temporary directory's path is too long for a Unix socket.
    #[error(
        "the socket path {0} is longer than a Unix socket's 107 bytes: set TMPDIR to a shorter directory"
    )]
    SocketPathTooLong(PathBuf),
    /// A program failed; `output` is what it printed.
    #[error("{program} failed ({status}): {output}")]
    Failed {
        /// The program and its first arguments.
        program: String,
        /// How it ended.
        status: String,
        /// What it printed.
        output: String,
    },
    /// The server did not accept connections in time, or stopped.
    #[error("the PostgreSQL server did not start: {0}")]
    NotStarted(String),
    /// The server [`URL_VAR`] names is not the harness's to do this to.
    #[error("cannot {0} the server {URL_VAR} names")]
    External(&'static str),
    /// A file or a process could not be handled; the system's answer is
    /// the [`source()`](std::error::Error::source).
    #[error("{what} failed")]
    Io {
        /// What was being done.
        what: String,
        /// What the system answered.
        #[source]
        source: std::io::Error,
    },
}

/// `error` while doing `what`.
fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// Where the binaries of one PostgreSQL installation are.
#[derive(Debug, Clone)]
struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    fn holds_server(dir: &Path) -> bool {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    }

    /// Finds the binaries as the crate documentation says.
    fn find() -> Result<Self, HarnessError> {
        Self::find_in(
            std::env::var_os(BIN_VAR),
            std::env::var_os("PATH").unwrap_or_default(),
            Path::new("/usr/lib/postgresql"),
        )
    }

    /// Finds the binaries in `bin` if given, else on `path`, else in the
    /// versions under `debian`.
    fn find_in(bin: Option<OsString>, path: OsString, debian: &Path) -> Result<Self, HarnessError> {
        if let Some(dir) = bin.filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            return if Self::holds_server(&dir) {
                Ok(Binaries { dir })
            } else {
                Err(HarnessError::BadBinDir { dir })
            };
        }
        let mut searched = Vec::new();
        for dir in std::env::split_paths(&path).filter(|d| !d.as_os_str().is_empty()) {
            if Self::holds_server(&dir) {
                // Debian's binaries find each other from their own
                // directory, and psql is beside them there.
                let dir = std::fs::canonicalize(dir.join("initdb"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .unwrap_or(dir);
                return Ok(Binaries { dir });
            }
            searched.push(dir);
        }
        let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(debian)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let version = name
                    .split('.')
                    .map(|part| part.parse().ok())
                    .collect::<Option<Vec<u32>>>()?;
                Some((version, entry.path().join("bin")))
            })
            .collect();
        versions.sort();
        if let Some((_, dir)) = versions.iter().rev().find(|(_, d)| Self::holds_server(d)) {
            return Ok(Binaries { dir: dir.clone() });
        }
        searched.push(debian.join("<version>/bin"));
        Err(HarnessError::NotInstalled { searched })
    }

    fn program(&self, name: &str) -> PathBuf {
        let beside = self.dir.join(name);
        if beside.is_file() {
            beside
        } else {
            // The client programs of some layouts are elsewhere on PATH.
            PathBuf::from(name)
        }
    }
}

/// The user a cluster's programs run as, when the tests run as root.
#[derive(Debug, Clone)]
struct Account {
    uid: u32,
    gid: u32,
}

impl Account {
    /// The `postgres` user, or `nobody`.
    fn unprivileged() -> Result<Self, HarnessError> {
        for name in ["postgres", "nobody"] {
            let Ok(out) = Command::new("getent").args(["passwd", name]).output() else {
                continue;
            };
            let line = String::from_utf8_lossy(&out.stdout);
            let fields: Vec<&str> = line.trim().split(':').collect();
            if let (true, Some(uid), Some(gid)) = (
                out.status.success(),
                fields.get(2).and_then(|f| f.parse().ok()),
                fields.get(3).and_then(|f| f.parse().ok()),
            ) && uid != 0
            {
                return Ok(Account { uid, gid });
            }
        }
        Err(HarnessError::NoUser(
            "neither a postgres nor a nobody user exists".into(),
        ))
    }
}

/// Whether `setpriv` can be run.
fn setpriv_available() -> bool {
    Command::new("setpriv")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Settings of a cluster before it starts.
#[derive(Debug, Clone)]
pub struct Builder {
    settings: Vec<(String, String)>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            settings: vec![("fsync".into(), "off".into())],
        }
    }
}

impl Builder {
    /// Sets the server's parameter `name` to `value` (`postgres -c
    /// name=value`), replacing an earlier value: `setting("fsync", "on")`
    /// for a test of durability.
    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.retain(|(n, _)| n != name);
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Starts the cluster.
    pub fn start(self) -> Result<Cluster, HarnessError> {
        Cluster::launch(self)
    }
}

/// A running throwaway cluster; stopped and removed on drop.
#[derive(Debug)]
pub struct Cluster {
    binaries: Binaries,
    settings: Builder,
    external: Option<External>,
    account: Option<Account>,
    pdeathsig: bool,
    port: u16,
    server: Option<Child>,
    // Dropped last: the server is stopped before its files go.
    dir: TempDir,
}

impl Cluster {
    /// Starts a cluster with the default settings.
    pub fn start() -> Result<Cluster, HarnessError> {
        Builder::default().start()
    }

    /// The settings of a cluster to start: one of the harness's own, even
    /// when [`URL_VAR`] is set.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts a cluster for the test `test`, or skips it where PostgreSQL
    /// is not installed: prints one line to stderr saying so (past the
    /// test harness's capture of output) and answers `None`. When
    /// [`URL_VAR`] is set, uses the server it names instead (see the
    /// crate's documentation).
    ///
    /// # Panics
    ///
    /// When PostgreSQL is not installed and [`REQUIRE_VAR`] is set, when
    /// it is installed and the cluster cannot start (a broken installation
    /// fails the test rather than skip it), and when the server
    /// [`URL_VAR`] names does not answer.
    #[allow(clippy::panic, reason = "a test that cannot run as required fails")]
    pub fn start_or_skip(test: &str) -> Option<Cluster> {
        match std::env::var(URL_VAR).ok().filter(|url| !url.is_empty()) {
            Some(url) => match Self::external(url) {
                Ok(cluster) => Some(cluster),
                Err(error) => panic!("{test}: the server {URL_VAR} names: {error}"),
            },
            None => Self::builder().start_or_skip(test),
        }
    }

    /// The server `url` names, checked to answer.
    fn external(url: String) -> Result<Cluster, HarnessError> {
        static CLUSTERS: AtomicU64 = AtomicU64::new(0);
        let dir = tempfile::Builder::new()
            .prefix("mcipg")
            .tempdir()
            .map_err(io("creating the cluster's temporary directory"))?;
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let prefix = format!(
            "mci_{}_{}_{}",
            std::process::id(),
            since_epoch.as_micros() % 1_000_000_000_000,
            CLUSTERS.fetch_add(1, Ordering::Relaxed)
        );
        let psql = Binaries::find()
            .map(|b| b.program("psql"))
            .unwrap_or_else(|_| PathBuf::from("psql"));
        let cluster = Cluster {
            binaries: Binaries {
                dir: PathBuf::new(),
            },
            settings: Builder::default(),
            external: Some(External {
                url,
                prefix,
                psql,
                created: Mutex::new(Vec::new()),
            }),
            account: None,
            pdeathsig: false,
            port: 0,
            server: None,
            dir,
        };
        cluster.psql_at(&cluster.external_url(None), "SELECT 1")?;
        Ok(cluster)
    }

    /// Whether the cluster is a server [`URL_VAR`] names, which the harness
    /// did not start: it has no data directory, socket or log of its own
    /// (their paths are in an empty temporary directory, its port is 0),
    /// and cannot be killed or restarted.
    pub fn is_external(&self) -> bool {
        self.external.is_some()
    }

    /// The name the database a test calls `database` has on the server:
    /// `database` itself on a cluster of the harness's own, the unique
    /// name it was created with on the server [`URL_VAR`] names.
    pub fn name_of(&self, database: &str) -> String {
        match &self.external {
            Some(external) => external.name_of(database),
            None => database.to_owned(),
        }
    }

    /// The connection string of the external server to `database` as it
    /// is named there, or to the database the URL names.
    fn external_url(&self, database: Option<&str>) -> String {
        let Some(external) = &self.external else {
            return String::new();
        };
        match database {
            None => external.url.clone(),
            Some(database) => with_database(&external.url, &external.name_of(database)),
        }
    }

    fn launch(builder: Builder) -> Result<Cluster, HarnessError> {
        let binaries = Binaries::find()?;
        let dir = tempfile::Builder::new()
            .prefix("mcipg")
            .tempdir()
            .map_err(io("creating the cluster's temporary directory"))?;
        let root = std::fs::metadata(dir.path())
            .map_err(io("reading the temporary directory"))?
            .uid()
            == 0;
        let pdeathsig = setpriv_available();
        let account = if root {
            if !pdeathsig {
                return Err(HarnessError::NoUser("setpriv is not installed".into()));
            }
            let account = Account::unprivileged()?;
            std::os::unix::fs::chown(dir.path(), Some(account.uid), Some(account.gid))
                .map_err(io("handing the temporary directory to the cluster's user"))?;
            Some(account)
        } else {
            None
        };
        let mut cluster = Cluster {
            binaries,
            settings: builder,
            external: None,
            account,
            pdeathsig,
            port: 0,
            server: None,
            dir,
        };
        let socket = cluster.socket_dir().join(".s.PGSQL.65535");
        if socket.as_os_str().len() > SOCKET_PATH_MAX {
            return Err(HarnessError::SocketPathTooLong(socket));
        }
        std::fs::create_dir(cluster.socket_dir()).map_err(io("creating the socket directory"))?;
        if let Some(account) = &cluster.account {
            std::os::unix::fs::chown(cluster.socket_dir(), Some(account.uid), Some(account.gid))
                .map_err(io("handing the socket directory to the cluster's user"))?;
        }
        cluster.initdb()?;
        cluster.serve()?;
        Ok(cluster)
    }

    /// A command running `program` as the cluster's user.
    fn command(&self, program: &Path, pdeathsig: bool) -> Command {
        let mut command = if self.account.is_some() || (pdeathsig && self.pdeathsig) {
            let mut setpriv = Command::new("setpriv");
            if let Some(account) = &self.account {
                setpriv.args([
                    format!("--reuid={}", account.uid),
                    format!("--regid={}", account.gid),
                    "--clear-groups".into(),
                ]);
            }
            if pdeathsig && self.pdeathsig {
                setpriv.args(["--pdeathsig", "KILL"]);
            }
            setpriv.arg("--").arg(program);
            setpriv
        } else {
            Command::new(program)
        };
        // The caller's PG* variables would redirect the programs.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PG") {
                command.env_remove(name);
            }
        }
        command.stdin(Stdio::null());
        command
    }

    fn initdb(&self) -> Result<(), HarnessError> {
        let mut initdb = self.command(&self.binaries.dir.join("initdb"), false);
        initdb
            .arg("-D")
            .arg(self.data_dir())
            .args([
                "--username",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .current_dir(self.dir.path());
        run(initdb, "initdb")
    }

    /// Starts the server on a free port, trying another when the one picked
    /// is taken before the server binds it.
    fn serve(&mut self) -> Result<(), HarnessError> {
        let mut last = String::new();
        for _ in 0..PORT_TRIES {
            self.port = free_port()?;
            match self.spawn_server(false)? {
                Ok(()) => return Ok(()),
                Err(log) if log.contains("could not bind") || log.contains("in use") => {
                    last = log;
                }
                Err(log) => return Err(HarnessError::NotStarted(log)),
            }
        }
        Err(HarnessError::NotStarted(last))
    }

    /// Spawns the server and waits until it is ready; `Ok(Err(log))` when
    /// it stopped before, with the end of its log. `again` keeps the log
    /// of the servers before, adding to it.
    fn spawn_server(&mut self, again: bool) -> Result<Result<(), String>, HarnessError> {
        let log_path = self.log_path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(again)
            .write(true)
            .truncate(!again)
            .open(&log_path)
            .map_err(io("creating the server's log"))?;
        let log_err = log.try_clone().map_err(io("sharing the server's log"))?;
        let mut postgres = self.command(&self.binaries.dir.join("postgres"), true);
        postgres
            .arg("-D")
            .arg(self.data_dir())
            .arg("-k")
            .arg(self.socket_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"]);
        for (name, value) in &self.settings.settings {
            postgres.arg("-c").arg(format!("{name}={value}"));
        }
        postgres
            .stdout(log)
            .stderr(log_err)
            .current_dir(self.dir.path());
        let mut child = postgres.spawn().map_err(io("starting postgres"))?;
        let pid_file = self.data_dir().join("postmaster.pid");
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut pause = Duration::from_millis(5);
        let failure = loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    return Ok(Err(format!("postgres ended ({status}): {}", tail(&log))));
                }
                Ok(None) => {}
                Err(error) => break io("waiting for postgres")(error),
            }
            // Line 1 of postmaster.pid is the postmaster's pid (setpriv
            // runs it in its own process), line 8 its status; the file of a
            // killed server stays until the new one replaces it.
            let ready = std::fs::read_to_string(&pid_file).ok().is_some_and(|pid| {
                let mut lines = pid.lines().map(str::trim);
                lines.next() == Some(child.id().to_string().as_str())
                    && lines.nth(6) == Some("ready")
            });
            if ready {
                self.server = Some(child);
                return Ok(Ok(()));
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                break HarnessError::NotStarted(format!(
                    "not ready after {READY_TIMEOUT:?}: {}",
                    tail(&log)
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        };
        let _ = child.kill();
        let _ = child.wait();
        Err(failure)
    }

    /// The temporary directory holding the cluster.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory of the server's Unix socket, the `host` to connect to.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("s")
    }

    /// The server's log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The port: of the socket's name, and on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq-style connection string to `database` as the superuser,
    /// through the Unix socket.
    pub fn connection_string(&self, database: &str) -> String {
        if self.is_external() {
            return self.external_url(Some(database));
        }
        format!(
            "host={} port={} user={} dbname={}",
            quote(&self.socket_dir().to_string_lossy()),
            self.port,
            quote(SUPERUSER),
            quote(database)
        )
    }

    /// A libpq-style connection string to `database` as the superuser,
    /// over TCP on 127.0.0.1.
    pub fn tcp_connection_string(&self, database: &str) -> String {
        if self.is_external() {
            return self.external_url(Some(database));
        }
        format!(
            "host=127.0.0.1 port={} user={} dbname={}",
            self.port,
            quote(SUPERUSER),
            quote(database)
        )
    }

    /// Runs `sql` (one or more statements) in `database` with `psql` as the
    /// superuser, stopping at the first error, and answers what it printed
    /// (unaligned, tuples only, trimmed).
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, HarnessError> {
        if self.is_external() {
            return self.psql_at(&self.external_url(Some(database)), sql);
        }
        let mut psql = Command::new(self.binaries.program("psql"));
        psql.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.socket_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", SUPERUSER, "-d", database, "-f", "-"]);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PG") {
                psql.env_remove(name);
            }
        }
        Self::run_psql(psql, sql)
    }

    /// Runs `sql` with `psql` on the external server's connection string
    /// `url`, keeping the caller's `PG*` variables (a password, a TLS
    /// mode).
    fn psql_at(&self, url: &str, sql: &str) -> Result<String, HarnessError> {
        let program = self
            .external
            .as_ref()
            .map_or_else(|| PathBuf::from("psql"), |e| e.psql.clone());
        let mut psql = Command::new(program);
        psql.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-f",
            "-",
        ]);
        Self::run_psql(psql, sql)
    }

    /// Runs `psql` with `sql` on its input.
    fn run_psql(mut psql: Command, sql: &str) -> Result<String, HarnessError> {
        psql.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = psql.spawn().map_err(io("starting psql"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql.as_bytes())
                .map_err(io("writing to psql"))?;
        }
        let out = child.wait_with_output().map_err(io("waiting for psql"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(HarnessError::Failed {
                program: "psql".into(),
                status: out.status.to_string(),
                output: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// Creates the database `name`. On an external server it is named
    /// uniquely there, [`Cluster::connection_string`] and [`Cluster::psql`]
    /// reach it by `name`, and it is dropped with the cluster.
    pub fn create_database(&self, name: &str) -> Result<(), HarnessError> {
        if let Some(external) = &self.external {
            let created = format!("{}_{name}", external.prefix);
            self.psql_at(
                &external.url,
                &format!("CREATE DATABASE {}", ident(&created)),
            )?;
            external
                .created
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(name.to_owned());
            return Ok(());
        }
        self.psql(SUPERUSER, &format!("CREATE DATABASE {}", ident(name)))
            .map(drop)
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`), killing it if
    /// that fails. Done on drop; idempotent.
    pub fn stop(&mut self) {
        if let Some(external) = &self.external {
            let created = std::mem::take(
                &mut *external
                    .created
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            for name in created {
                let drop = format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    ident(&format!("{}_{name}", external.prefix))
                );
                let _ = self.psql_at(&external.url, &drop);
            }
        }
        let Some(mut server) = self.server.take() else {
            return;
        };
        let mut pg_ctl = self.command(&self.binaries.dir.join("pg_ctl"), false);
        pg_ctl
            .args(["stop", "-m", "immediate", "-w", "-t", "30", "-D"])
            .arg(self.data_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let stopped = pg_ctl.status().is_ok_and(|s| s.success());
        if !stopped {
            // Its backends end when they see the postmaster gone.
            let _ = server.kill();
        }
        let _ = server.wait();
    }
}

impl Cluster {
    /// Kills the server as a crash would: `SIGKILL` to the postmaster and
    /// to every process it started (backends, the checkpointer, the WAL
    /// writer...), at once, so that no backend outlives it holding the
    /// shared memory (which would make PostgreSQL refuse to start again
    /// on the data directory). The postmaster is stopped (`SIGSTOP`) first,
    /// so that it starts no process between the listing of its children
    /// and their end. Answers once every one of them has ended; the data
    /// directory is as the crash left it, for [`Cluster::restart`].
    pub fn kill(&mut self) -> Result<(), HarnessError> {
        if self.is_external() {
            return Err(HarnessError::External("kill"));
        }
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        let postmaster = server.id();
        signal("STOP", &[postmaster])?;
        let mut doomed = vec![postmaster];
        doomed.extend(children_of(postmaster)?);
        signal("KILL", &doomed)?;
        server
            .wait()
            .map_err(io("waiting for the killed postmaster"))?;
        let deadline = Instant::now() + READY_TIMEOUT;
        while doomed.iter().any(|pid| running(*pid)) {
            if Instant::now() > deadline {
                return Err(HarnessError::NotStarted(format!(
                    "the processes {doomed:?} of the killed server did not end"
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Starts the server again, after [`Cluster::stop`] or
    /// [`Cluster::kill`], on the same data directory, port and socket and
    /// with the same settings, and waits until it accepts connections:
    /// after a kill, once its crash recovery has replayed the WAL. The log
    /// of the servers before is kept, the new one's added to it. Call it
    /// on the thread that started the cluster (see the crate's
    /// documentation).
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        if self.is_external() {
            return Err(HarnessError::External("restart"));
        }
        if self.server.is_some() {
            return Ok(());
        }
        match self.spawn_server(true)? {
            Ok(()) => Ok(()),
            Err(log) => Err(HarnessError::NotStarted(log)),
        }
    }
}

/// A server the harness did not start, named by [`URL_VAR`].
#[derive(Debug)]
struct External {
    /// The connection string, to a database the role may create
    /// databases from.
    url: String,
    /// What the names of this cluster's databases start with there: the
    /// process, the instant and a count, so that test runs sharing the
    /// server never meet.
    prefix: String,
    psql: PathBuf,
    /// The databases created, by the names the tests give them.
    created: Mutex<Vec<String>>,
}

impl External {
    /// What the database a test names `database` is called on the server:
    /// prefixed if this cluster created it, else as named.
    fn name_of(&self, database: &str) -> String {
        let created = self
            .created
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if created.iter().any(|c| c == database) {
            format!("{}_{database}", self.prefix)
        } else {
            database.to_owned()
        }
    }
}

/// The connection string `url` (a `postgres://` URL or `key=value` pairs)
/// with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let Some(scheme) = ["postgresql://", "postgres://"]
        .iter()
        .find(|s| url.starts_with(**s))
    else {
        // A later keyword replaces an earlier one.
        return format!("{url} dbname={}", quote(database));
    };
    let (base, query) = match url.find('?') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let authority = match base[scheme.len()..].find('/') {
        Some(at) => &base[..scheme.len() + at],
        None => base,
    };
    let encoded: String = database
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{authority}/{encoded}{query}")
}

/// `name` quoted as an SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Sends `signal` to `pids` with `kill(1)`.
fn signal(signal: &str, pids: &[u32]) -> Result<(), HarnessError> {
    let mut kill = Command::new("kill");
    kill.arg(format!("-{signal}"))
        .args(pids.iter().map(u32::to_string));
    run(kill, "kill")
}

/// The processes whose parent is `parent`, from `/proc`.
fn children_of(parent: u32) -> Result<Vec<u32>, HarnessError> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").map_err(io("listing /proc"))? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if status_of(pid).is_some_and(|(ppid, _)| ppid == parent) {
            children.push(pid);
        }
    }
    Ok(children)
}

/// The parent and the state of process `pid`, from `/proc/<pid>/stat`
/// (after the command's name, in parentheses, that may hold anything).
fn status_of(pid: u32) -> Option<(u32, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

/// Whether process `pid` still runs: it exists and is not a zombie, which
/// holds no memory.
fn running(pid: u32) -> bool {
    status_of(pid).is_some_and(|(_, state)| state != 'Z' && state != 'X')
}

impl Builder {
    /// [`Cluster::start_or_skip`] with these settings, always on a cluster
    /// of the harness's own (never the server of [`URL_VAR`]).
    ///
    /// # Panics
    ///
    /// As [`Cluster::start_or_skip`] does.
    #[allow(clippy::panic, reason = "a test that cannot run as required fails")]
    pub fn start_or_skip(self, test: &str) -> Option<Cluster> {
        match self.start() {
            Ok(cluster) => Some(cluster),
            Err(error) => match skip(test, &error, required()) {
                Ok(line) => {
                    // Straight to stderr: the test harness captures print!.
                    let _ = writeln!(std::io::stderr(), "{line}");
                    None
                }
                Err(failure) => panic!("{failure}"),
            },
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a test does when its cluster could not start with `error`: skip,
/// with the line that says so (`Ok`), or fail, with the message (`Err`).
/// Only a missing installation is skipped, and only when PostgreSQL is not
/// `required`.
fn skip(test: &str, error: &HarnessError, required: bool) -> Result<String, String> {
    match error {
        HarnessError::NotInstalled { .. } if required => {
            Err(format!("{test}: {REQUIRE_VAR} is set and {error}"))
        }
        HarnessError::NotInstalled { .. } => Ok(format!(
            "skipped {test}: {error} (install it with `apt-get install postgresql`, or set {BIN_VAR}; {REQUIRE_VAR}=1 makes this a failure)"
        )),
        _ => Err(format!("{test}: cannot start PostgreSQL: {error}")),
    }
}

/// Whether [`REQUIRE_VAR`] asks for PostgreSQL.
pub fn required() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some_and(|v| !v.is_empty() && v != *"0")
}

/// Runs `command` to its end, failing with what it printed.
fn run(mut command: Command, program: &str) -> Result<(), HarnessError> {
    let out = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(io(format!("starting {program}")))?;
    if out.status.success() {
        Ok(())
    } else {
        let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stderr));
        Err(HarnessError::Failed {
            program: program.into(),
            status: out.status.to_string(),
            output: tail(&output),
        })
    }
}

/// A port of 127.0.0.1 free a moment ago.
fn free_port() -> Result<u16, HarnessError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io("finding a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(io("finding a free port"))?
        .port())
}

/// The last lines of a log.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// `value` quoted for a libpq connection string.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_servers_database_is_replaced_in_its_url_or_string() {
        assert_eq!(
            with_database(
                "postgres://u:p@db.example:5433/postgres?sslmode=require",
                "mci_1_t"
            ),
            "postgres://u:p@db.example:5433/mci_1_t?sslmode=require"
        );
        assert_eq!(
            with_database("postgresql://localhost", "a b"),
            "postgresql://localhost/a%20b"
        );
        assert_eq!(
            with_database("host=/run/postgresql dbname=postgres", "mci_1_t"),
            "host=/run/postgresql dbname=postgres dbname='mci_1_t'"
        );
    }

    #[test]
    fn a_connection_string_quotes_its_values() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote(r"it's\"), r"'it\'s\\'");
    }

    fn not_installed() -> HarnessError {
        let empty = tempfile::tempdir().unwrap();
        Binaries::find_in(None, empty.path().into(), &empty.path().join("none")).unwrap_err()
    }

    #[test]
    fn without_binaries_on_path_or_in_debians_directory_it_is_not_installed() {
        assert!(matches!(not_installed(), HarnessError::NotInstalled { .. }));
    }

    #[test]
    fn a_missing_installation_is_skipped_on_one_line_unless_required() {
        let line = skip("t", &not_installed(), false).unwrap();
        assert!(
            line.starts_with("skipped t: PostgreSQL is not installed"),
            "{line}"
        );
        assert_eq!(line.lines().count(), 1);
        let failure = skip("t", &not_installed(), true).unwrap_err();
        assert!(failure.contains(REQUIRE_VAR), "{failure}");
    }

    #[test]
    fn a_broken_installation_fails_even_when_not_required() {
        let broken = HarnessError::NotStarted("no shared memory".into());
        assert!(skip("t", &broken, false).is_err());
    }

    #[test]
    fn a_bin_directory_without_the_server_is_an_error_not_a_skip() {
        let empty = tempfile::tempdir().unwrap();
        let error = Binaries::find_in(Some(empty.path().into()), OsString::new(), empty.path())
            .unwrap_err();
        assert!(matches!(error, HarnessError::BadBinDir { .. }));
        assert!(skip("t", &error, false).is_err());
    }

    #[test]
    fn debians_newest_version_is_chosen() {
        let root = tempfile::tempdir().unwrap();
        for version in ["9.6", "15", "13"] {
            let bin = root.path().join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            for program in ["initdb", "pg_ctl", "postgres"] {
                std::fs::write(bin.join(program), b"").unwrap();
            }
        }
        let found = Binaries::find_in(None, OsString::new(), root.path()).unwrap();
        assert_eq!(found.dir, root.path().join("15").join("bin"));
    }

    #[test]
    fn the_children_of_a_process_are_found_in_proc() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let found = children_of(std::process::id()).unwrap();
        assert!(found.contains(&child.id()), "{found:?}");
        assert!(running(child.id()));
        signal("KILL", &[child.id()]).unwrap();
        child.wait().unwrap();
        assert!(!running(child.id()));
    }

    #[test]
    fn a_later_setting_replaces_an_earlier_one() {
        let builder = Cluster::builder().setting("fsync", "on");
        assert_eq!(builder.settings, vec![("fsync".into(), "on".into())]);
    }
}
