//! The process's own metrics: resident memory, CPU seconds and open file descriptors.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// The process's own metrics, read from `/proc` at each scrape (nothing where there is none).
#[derive(Debug)]
pub(super) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let p = ProcessStats::read();
        if let Some(rss) = p.resident_memory_bytes {
            let g = ConstGauge::new(rss);
            let m = encoder.encode_descriptor(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                None,
                g.metric_type(),
            )?;
            g.encode(m)?;
        }
        if let Some(cpu) = p.cpu_seconds {
            let c = ConstCounter::new(cpu);
            let m = encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                c.metric_type(),
            )?;
            c.encode(m)?;
        }
        if let Some(fds) = p.open_fds {
            let g = ConstGauge::new(fds);
            let m = encoder.encode_descriptor(
                "process_open_fds",
                "Number of open file descriptors",
                None,
                g.metric_type(),
            )?;
            g.encode(m)?;
        }
        Ok(())
    }
}

/// What `/proc/self` tells of this process.
#[derive(Debug, Default)]
struct ProcessStats {
    resident_memory_bytes: Option<i64>,
    cpu_seconds: Option<f64>,
    open_fds: Option<i64>,
}

/// Clock ticks per second in `/proc` (the kernel's `USER_HZ`, 100 for user space everywhere).
const CLOCK_TICKS: f64 = 100.0;

impl ProcessStats {
    fn read() -> ProcessStats {
        let status = std::fs::read_to_string("/proc/self/status").ok();
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        ProcessStats {
            resident_memory_bytes: status.as_deref().and_then(resident_bytes),
            cpu_seconds: stat.as_deref().and_then(cpu_ticks).map(|t| t / CLOCK_TICKS),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .and_then(|d| i64::try_from(d.count()).ok()),
        }
    }
}

/// `VmRSS` of `/proc/self/status`, in bytes (in kB there, whatever the page size; `statm`
/// counts pages, whose size would take a system call to learn).
fn resident_bytes(status: &str) -> Option<i64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb: i64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kb * 1024)
}

/// utime + stime (fields 14 and 15) of `/proc/self/stat`, in clock ticks; counted after the
/// command name's closing parenthesis, since the name may hold spaces.
fn cpu_ticks(stat: &str) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_ascii_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed() {
        assert_eq!(
            resident_bytes("Name:\tx\nVmRSS:\t    25 kB\nX: 1\n"),
            Some(25 * 1024)
        );
        let stat = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0 100 200 300";
        assert_eq!(cpu_ticks(stat), Some(200.0));
        if std::path::Path::new("/proc/self/stat").exists() {
            let p = ProcessStats::read();
            assert!(p.resident_memory_bytes.unwrap() > 0);
            assert!(p.open_fds.unwrap() > 0);
            assert!(p.cpu_seconds.is_some());
        }
    }
}
