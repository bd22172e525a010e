//! The workload image, built here: there is no registry to pull from.
//!
//! Key decision: the image is `FROM scratch` plus one statically linked
//! binary (`orkestra-workload`, built with `+crt-static`), tagged with the
//! tool's version and a hash of the binary — so a changed workload never
//! runs as a stale image of the same version. Every live run asks cargo for
//! the binary (a no-op when it is fresh), hashes it, and builds the image
//! only when no host has that tag. It is built through the engine's build
//! API from a tar context made in memory, and copied to other engines with
//! export → import, so every host runs byte-identical workload code.

use std::path::{Path, PathBuf};
use std::process::Command;

use bollard::Docker;
use bollard::query_parameters::{BuildImageOptionsBuilder, ImportImageOptionsBuilder};
use futures_util::{StreamExt, TryStreamExt};

use crate::hosts::Host;

/// The tag [`ensure`] settled on in this process.
static TAG: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// The tag of the workload image: `orkestra-workload:<version>-<hash>`
/// once [`ensure`] has hashed the binary (the bare version before).
pub fn tag() -> String {
    TAG.lock()
        .expect("tag")
        .clone()
        .unwrap_or_else(|| format!("orkestra-workload:{}", orkestra_core::VERSION))
}

/// FNV-1a (64 bit) of the binary: enough to tell two builds apart.
fn content_hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The build target of the static binary.
const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Why the image could not be made.
#[derive(Debug, thiserror::Error)]
#[error("workload image: {0}")]
pub struct ImageError(pub String);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds (or finds) the statically linked workload binary.
///
/// `ORKESTRA_WORKLOAD_BIN` names a prebuilt binary; otherwise `cargo build`
/// runs in this workspace with its own target folder (`target/workload-static`).
pub fn static_binary() -> Result<PathBuf, ImageError> {
    if let Ok(p) = std::env::var("ORKESTRA_WORKLOAD_BIN") {
        return Ok(PathBuf::from(p));
    }
    let root = workspace_root();
    let target_dir = root.join("target/workload-static");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "orkestra-workload",
            "--target",
            TARGET,
            "--target-dir",
        ])
        .arg(&target_dir)
        .output()
        .map_err(|e| {
            ImageError(format!(
                "cannot run cargo to build the static workload binary: {e}"
            ))
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("cargo failed");
        return Err(ImageError(format!(
            "building the static workload binary failed: {last}"
        )));
    }
    Ok(target_dir.join(TARGET).join("release/orkestra-workload"))
}

/// A build context: a Dockerfile and the binary, as an uncompressed tar.
pub fn context(binary: &[u8]) -> Vec<u8> {
    let dockerfile = b"FROM scratch\nCOPY orkestra-workload /orkestra-workload\nUSER 65534:65534\nEXPOSE 8080\nENTRYPOINT [\"/orkestra-workload\"]\n";
    let mut tar = Vec::new();
    tar_entry(&mut tar, "Dockerfile", dockerfile, 0o644);
    tar_entry(&mut tar, "orkestra-workload", binary, 0o755);
    tar.extend_from_slice(&[0u8; 1024]); // two zero blocks end the archive
    tar
}

/// Appends one regular file in ustar format.
fn tar_entry(tar: &mut Vec<u8>, name: &str, data: &[u8], mode: u32) {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |h: &mut [u8], at: usize, len: usize, v: u64| {
        let s = format!("{v:0width$o}\0", width = len - 1);
        h[at..at + len].copy_from_slice(s.as_bytes());
    };
    octal(&mut h, 100, 8, u64::from(mode));
    octal(&mut h, 108, 8, 0); // uid
    octal(&mut h, 116, 8, 0); // gid
    octal(&mut h, 124, 12, data.len() as u64);
    octal(&mut h, 136, 12, 0); // mtime: fixed, so the context is reproducible
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    tar.extend_from_slice(&h);
    tar.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    tar.extend(std::iter::repeat_n(0u8, pad));
}

/// Builds the image on one engine from a context.
pub async fn build(docker: &Docker, context: Vec<u8>) -> Result<(), ImageError> {
    let opts = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(&tag())
        .rm(true)
        .forcerm(true)
        .build();
    let mut stream = docker.build_image(opts, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| ImageError(format!("build failed: {e}")))?;
        if let Some(detail) = info.error_detail {
            return Err(ImageError(format!(
                "build failed: {}",
                detail.message.unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// True when the engine has this version's image.
pub async fn present(docker: &Docker) -> bool {
    docker.inspect_image(&tag()).await.is_ok()
}

/// Copies the image from one engine to another (export → import).
pub async fn copy(from: &Docker, to: &Docker) -> Result<(), ImageError> {
    let bytes: Vec<u8> = from
        .export_image(&tag())
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .map_err(|e| ImageError(format!("export failed: {e}")))?;
    let mut s = to.import_image(
        ImportImageOptionsBuilder::default().build(),
        bollard::body_full(bytes.into()),
        None,
    );
    while let Some(r) = s.next().await {
        r.map_err(|e| ImageError(format!("import failed: {e}")))?;
    }
    Ok(())
}

/// Makes sure every host has the image: builds it once where missing
/// (`force` rebuilds), then copies it to the other hosts.
pub async fn ensure(hosts: &[Host], force: bool) -> Result<(), ImageError> {
    let bin = tokio::task::spawn_blocking(static_binary)
        .await
        .map_err(|e| ImageError(e.to_string()))??;
    let data = std::fs::read(&bin).map_err(|e| ImageError(format!("{}: {e}", bin.display())))?;
    *TAG.lock().expect("tag") = Some(format!(
        "orkestra-workload:{}-{:012x}",
        orkestra_core::VERSION,
        content_hash(&data) >> 16
    ));
    let mut source = None;
    if !force {
        for (i, h) in hosts.iter().enumerate() {
            if present(&h.docker).await {
                source = Some(i);
                break;
            }
        }
    }
    let source = match source {
        Some(i) => i,
        None => {
            build(&hosts[0].docker, context(&data)).await?;
            0
        }
    };
    for (i, h) in hosts.iter().enumerate() {
        if i != source && (force || !present(&h.docker).await) {
            copy(&hosts[source].docker, &h.docker).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_headers_are_valid_ustar() {
        let t = context(b"binary");
        // Dockerfile header + 1 data block, binary header + 1 data block, 2 end blocks.
        assert_eq!(t.len(), 512 * 6);
        assert_eq!(&t[257..263], b"ustar\0");
        // The checksum field equals the byte sum with the field read as spaces.
        let h = &t[..512];
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let sum: u32 = h
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(*b)
                }
            })
            .sum();
        assert_eq!(stored, sum);
        assert_eq!(&t[1024 + 124..1024 + 135], b"00000000006"); // size 6 in octal
    }
}
