//! The shard hash (where a listing entry of taskrec's table goes), and
//! the page tokens of task_rb's table.

use crate::adapter::PageToken;
use crate::error::{Error, Result};

/// The shard of an id among `shards`: in taskrec's table, the shard of
/// the id's listing entry (`{table}_entries`).
///
/// The hash is 64-bit FNV-1a over the id's UTF-8 bytes (offset basis
/// `0xcbf29ce484222325`, prime `0x100000001b3`), passed through MurmurHash3's
/// 64-bit finalizer (`fmix64`), and the shard is that modulo the shard
/// count. FNV-1a alone spreads ids that differ in one digit poorly (its low
/// bits depend only on the low bits of each byte); the finalizer mixes every
/// bit into every other. The formula is part of the stored format: any
/// program that writes the table (and its entries) must use it.
///
/// ```
/// assert_eq!(taskrec::cassandra::shard_of("file1", 16), 5);
/// ```
pub fn shard_of(id: &str, shards: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // The remainder is below `shards`, so it fits a u32.
    (fmix64(hash) % u64::from(shards.max(1))) as u32
}

/// MurmurHash3's 64-bit finalizer.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// The first byte of every token, so a token from another adapter, layout
/// or version is refused instead of being sent to the server.
const TOKEN_MAGIC: u8 = 0x7a;
/// A token that also names the last id listed (task_rb's table, whose
/// rows of one id may straddle two pages).
const TOKEN_MAGIC_AFTER_ID: u8 = 0x7b;

/// Where a listing stopped: the bucket (0 for task_rb's table) and the
/// driver's paging state within it (empty: the bucket's start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Position {
    pub bucket: u32,
    pub paging_state: Vec<u8>,
    /// The id the previous page ended on: its rows that continue on this
    /// page were listed already.
    pub after_id: Option<String>,
}

impl Position {
    pub fn start() -> Self {
        Position {
            bucket: 0,
            paging_state: Vec::new(),
            after_id: None,
        }
    }

    pub fn encode(&self) -> PageToken {
        let id = self.after_id.as_deref().map(str::as_bytes);
        let mut bytes = Vec::with_capacity(7 + id.map_or(0, <[u8]>::len) + self.paging_state.len());
        match id {
            // Ids are at most MAX_KEY_BYTES (4096), well within a u16; a
            // longer foreign one is not carried (its rows may repeat).
            Some(id) if u16::try_from(id.len()).is_ok() => {
                bytes.push(TOKEN_MAGIC_AFTER_ID);
                bytes.extend_from_slice(&self.bucket.to_be_bytes());
                bytes.extend_from_slice(&(id.len() as u16).to_be_bytes());
                bytes.extend_from_slice(id);
            }
            _ => {
                bytes.push(TOKEN_MAGIC);
                bytes.extend_from_slice(&self.bucket.to_be_bytes());
            }
        }
        bytes.extend_from_slice(&self.paging_state);
        PageToken::from_bytes(bytes)
    }

    pub fn decode(token: &PageToken, buckets: u32) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidPageToken {
            reason: reason.to_owned(),
        };
        let bytes = token.as_bytes();
        let magic = bytes.first().copied();
        if !matches!(magic, Some(TOKEN_MAGIC | TOKEN_MAGIC_AFTER_ID)) || bytes.len() < 5 {
            return Err(invalid("not a cassandra adapter token"));
        }
        let bucket = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        if bucket >= buckets {
            return Err(invalid("its bucket is beyond this table's bucket count"));
        }
        let (after_id, rest) = if magic == Some(TOKEN_MAGIC_AFTER_ID) {
            let [hi, lo, rest @ ..] = &bytes[5..] else {
                return Err(invalid("it ends before the length of its last id"));
            };
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            if rest.len() < len {
                return Err(invalid("it ends inside its last id"));
            }
            let (id, rest) = rest.split_at(len);
            let id = std::str::from_utf8(id).map_err(|_| invalid("its last id is not UTF-8"))?;
            (Some(id.to_owned()), rest)
        } else {
            (None, &bytes[5..])
        };
        Ok(Position {
            bucket,
            paging_state: rest.to_vec(),
            after_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_with_and_without_a_last_id() {
        for after_id in [None, Some(String::new()), Some("é id".to_owned())] {
            let at = Position {
                bucket: 3,
                paging_state: vec![1, 2, 3],
                after_id,
            };
            assert_eq!(Position::decode(&at.encode(), 4).unwrap(), at);
        }
        for bad in [
            "7b00000000",
            "7b0000000000",
            "7b000000000002ff",
            "7b000000000002ffff",
        ] {
            let token: PageToken = bad.parse().unwrap();
            assert!(
                matches!(
                    Position::decode(&token, 4),
                    Err(Error::InvalidPageToken { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn reference_values() {
        // FNV-1a 64 of "" is the offset basis; of "a" it is 0xaf63dc4c8601ec8c.
        let n = 1 << 30;
        assert_eq!(
            u64::from(shard_of("", n)),
            fmix64(0xcbf2_9ce4_8422_2325) % u64::from(n)
        );
        assert_eq!(
            u64::from(shard_of("a", n)),
            fmix64(0xaf63_dc4c_8601_ec8c) % u64::from(n)
        );
        assert_eq!(fmix64(0), 0);
    }

    #[test]
    fn ids_spread_evenly() {
        for ids in [
            (0..10_000)
                .map(|i| format!("task-{i:05}"))
                .collect::<Vec<_>>(),
            (0..10_000).map(|i| format!("{i}")).collect(),
        ] {
            let mut counts = [0u32; 16];
            for id in &ids {
                counts[shard_of(id, 16) as usize] += 1;
            }
            let share = 10_000 / 16;
            assert!(
                counts.iter().all(|&c| c <= 2 * share && c >= share / 2),
                "{counts:?}"
            );
        }
    }

    #[test]
    fn tokens_round_trip_and_foreign_tokens_are_refused() {
        let at = Position {
            bucket: 3,
            paging_state: vec![1, 2, 3],
            after_id: None,
        };
        assert_eq!(Position::decode(&at.encode(), 16).unwrap(), at);
        for bad in [vec![], vec![0xff, 0, 0, 0, 0], vec![TOKEN_MAGIC, 0, 0]] {
            assert!(matches!(
                Position::decode(&PageToken::from_bytes(bad), 16),
                Err(Error::InvalidPageToken { .. })
            ));
        }
        assert!(Position::decode(
            &Position {
                bucket: 16,
                paging_state: vec![],
                after_id: None,
            }
            .encode(),
            16
        )
        .is_err());
    }
}
