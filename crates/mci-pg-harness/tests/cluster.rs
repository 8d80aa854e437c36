//! A cluster serves while it lives, runs as no root, and leaves no server
//! and no file behind when it is dropped, also when its test panics.
#![allow(clippy::unwrap_used, clippy::panic)]

use mci_pg_harness::Cluster;
use std::path::{Path, PathBuf};

/// The pid of the postmaster serving `data`, from its pid file.
fn postmaster(data: &Path) -> u32 {
    let pid = std::fs::read_to_string(data.join("postmaster.pid")).unwrap();
    pid.lines().next().unwrap().trim().parse().unwrap()
}

/// Whether process `pid` runs (a zombie does not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .is_ok_and(|status| !status.lines().any(|l| l.starts_with("State:\tZ")))
}

/// The real uid process `pid` runs as.
fn uid(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_cluster_serves_sql_as_an_unprivileged_user_with_fsync_off() {
    let Some(cluster) = Cluster::builder().start_or_skip("a_cluster_serves_sql") else {
        return;
    };
    assert_eq!(cluster.psql("postgres", "SELECT 1 + 1").unwrap(), "2");
    assert_eq!(cluster.psql("postgres", "SHOW fsync").unwrap(), "off");
    let pid = postmaster(&cluster.data_dir());
    assert_ne!(uid(pid), 0, "the server runs as root");
    cluster.create_database("other").unwrap();
    assert_eq!(
        cluster.psql("other", "SELECT current_database()").unwrap(),
        "other"
    );
    let port = cluster.port().to_string();
    assert!(cluster.tcp_connection_string("other").contains(&port));
}

#[test]
fn a_setting_reaches_the_server() {
    let Some(cluster) = Cluster::builder()
        .setting("fsync", "on")
        .setting("max_connections", "42")
        .start_or_skip("a_setting_reaches_the_server")
    else {
        return;
    };
    assert_eq!(cluster.psql("postgres", "SHOW fsync").unwrap(), "on");
    assert_eq!(
        cluster.psql("postgres", "SHOW max_connections").unwrap(),
        "42"
    );
}

#[test]
fn a_dropped_cluster_leaves_no_server_and_no_files() {
    let Some(cluster) = Cluster::builder().start_or_skip("a_dropped_cluster_leaves_nothing") else {
        return;
    };
    let pid = postmaster(&cluster.data_dir());
    let dir: PathBuf = cluster.dir().into();
    assert!(running(pid));
    drop(cluster);
    assert!(!running(pid), "postmaster {pid} still runs");
    assert!(!dir.exists(), "{} is still there", dir.display());
}

#[test]
fn a_panicking_test_leaves_no_server_and_no_files() {
    let Some(cluster) = Cluster::builder().start_or_skip("a_panicking_test_leaves_nothing") else {
        return;
    };
    let pid = postmaster(&cluster.data_dir());
    let dir: PathBuf = cluster.dir().into();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _cluster = cluster;
        panic!("the test fails while its cluster runs");
    }));
    assert!(outcome.is_err());
    assert!(!running(pid), "postmaster {pid} still runs");
    assert!(!dir.exists(), "{} is still there", dir.display());
}

#[test]
fn a_server_whose_thread_ends_without_dropping_it_is_killed() {
    let started = std::thread::spawn(|| {
        let cluster = Cluster::builder().start_or_skip("a_server_whose_thread_ends")?;
        let pid = postmaster(&cluster.data_dir());
        let dir: PathBuf = cluster.dir().into();
        // As if the process were killed: nothing runs the drop.
        std::mem::forget(cluster);
        Some((pid, dir))
    })
    .join()
    .unwrap();
    let Some((pid, dir)) = started else {
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while running(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!running(pid), "postmaster {pid} outlived its thread");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn two_clusters_run_side_by_side() {
    let (Some(a), Some(b)) = (
        Cluster::builder().start_or_skip("two_clusters_run_side_by_side"),
        Cluster::builder().start_or_skip("two_clusters_run_side_by_side"),
    ) else {
        return;
    };
    assert_ne!(a.port(), b.port());
    a.psql("postgres", "CREATE TABLE only_in_a (x int)")
        .unwrap();
    assert_eq!(
        b.psql(
            "postgres",
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"
        )
        .unwrap(),
        "0"
    );
}

/// The processes whose parent is `parent`.
fn children(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
                s.lines().any(|l| {
                    l.split_whitespace().collect::<Vec<_>>() == ["PPid:", &parent.to_string()]
                })
            })
        })
        .collect()
}

#[test]
fn a_killed_server_and_its_backends_end_and_it_restarts_on_its_data() {
    let Some(mut cluster) = Cluster::builder()
        .setting("fsync", "on")
        .start_or_skip("a_killed_server_and_its_backends_end_and_it_restarts_on_its_data")
    else {
        return;
    };
    cluster
        .psql(
            "postgres",
            "CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2)",
        )
        .unwrap();
    let killed = postmaster(&cluster.data_dir());
    let backends = children(killed);
    assert!(!backends.is_empty(), "a postmaster runs its processes");
    let port = cluster.port();
    cluster.kill().unwrap();
    assert!(!running(killed));
    for pid in &backends {
        assert!(!running(*pid), "process {pid} outlived the kill");
    }
    assert!(cluster.psql("postgres", "SELECT 1").is_err());
    cluster.restart().unwrap();
    assert_eq!(cluster.port(), port);
    assert_ne!(postmaster(&cluster.data_dir()), killed);
    assert_eq!(
        cluster.psql("postgres", "SELECT sum(n) FROM t").unwrap(),
        "3"
    );
    let log = std::fs::read_to_string(cluster.log_path()).unwrap();
    assert!(
        log.contains("automatic recovery in progress"),
        "the restart recovered from a crash:\n{log}"
    );
}
