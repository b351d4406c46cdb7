//! The token of a sweep step, as `next_ready` hands it back: where the
//! hints go on, or where a walk of the list goes on.

use crate::adapter::PageToken;
use crate::error::{Error, Result};

use super::Key;

/// The token of a sweep step: where the hints go on, or where a walk goes
/// on (and, for the walk of a list without a low mark, when it began: the
/// mark it sets when it ends).
pub(super) enum Step {
    Hints {
        after: Key,
        from_low: bool,
    },
    Walk {
        token: Option<PageToken>,
        /// When the walk began (µs).
        started: i64,
        /// Whether it sets the low mark to its start when it ends.
        sets_low: bool,
        /// Whether it has handed nothing out so far.
        clean: bool,
    },
}

const HINTS_TAG: u8 = 0x52;
const WALK_TAG: u8 = 0x57;

impl Step {
    pub(super) fn encode(&self) -> PageToken {
        let mut bytes = Vec::new();
        match self {
            Step::Hints { after, from_low } => {
                bytes.push(HINTS_TAG);
                bytes.push(u8::from(*from_low));
                bytes.extend_from_slice(&after.0.to_be_bytes());
                bytes.extend_from_slice(after.1.as_bytes());
            }
            Step::Walk {
                token,
                started,
                sets_low,
                clean,
            } => {
                bytes.push(WALK_TAG);
                bytes.push(u8::from(*sets_low) | (u8::from(*clean) << 1));
                bytes.extend_from_slice(&started.to_be_bytes());
                if let Some(token) = token {
                    bytes.extend_from_slice(token.as_bytes());
                }
            }
        }
        PageToken::from_bytes(bytes)
    }

    pub(super) fn decode(token: &PageToken) -> Result<Self> {
        let invalid = || Error::InvalidPageToken {
            reason: "not a Cassandra claim-next token".to_owned(),
        };
        match token.as_bytes().split_first() {
            Some((&HINTS_TAG, rest)) => {
                let (&from_low, rest) = rest.split_first().ok_or_else(invalid)?;
                let (due, id) = rest.split_first_chunk::<8>().ok_or_else(invalid)?;
                let id = std::str::from_utf8(id).map_err(|_| invalid())?;
                Ok(Step::Hints {
                    after: (i64::from_be_bytes(*due), id.to_owned()),
                    from_low: from_low != 0,
                })
            }
            Some((&WALK_TAG, rest)) => {
                let (&flags, rest) = rest.split_first().ok_or_else(invalid)?;
                let (started, token) = rest.split_first_chunk::<8>().ok_or_else(invalid)?;
                Ok(Step::Walk {
                    token: (!token.is_empty()).then(|| PageToken::from_bytes(token.to_vec())),
                    started: i64::from_be_bytes(*started),
                    sets_low: flags & 1 != 0,
                    clean: flags & 2 != 0,
                })
            }
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_tokens_read_back_as_written() {
        let hints = Step::Hints {
            after: (-1_234_567, "id with ünïcode".to_owned()),
            from_low: true,
        };
        match Step::decode(&hints.encode()).unwrap() {
            Step::Hints { after, from_low } => {
                assert_eq!(
                    (after.0, after.1.as_str(), from_low),
                    (-1_234_567, "id with ünïcode", true)
                );
            }
            Step::Walk { .. } => panic!("a hints token read back as a walk"),
        }
        let walk = Step::Walk {
            token: Some(PageToken::from_bytes(vec![1, 2, 3])),
            started: 42,
            sets_low: true,
            clean: false,
        };
        match Step::decode(&walk.encode()).unwrap() {
            Step::Walk {
                token,
                started,
                sets_low,
                clean,
            } => {
                assert_eq!(
                    (token.unwrap().as_bytes(), started, sets_low, clean),
                    (&[1u8, 2, 3][..], 42, true, false)
                );
            }
            Step::Hints { .. } => panic!("a walk token read back as hints"),
        }
        for bad in [
            &b""[..],
            b"x",
            &[HINTS_TAG, 1, 0, 0],
            &[WALK_TAG],
            &[WALK_TAG, 3, 0],
        ] {
            assert!(matches!(
                Step::decode(&PageToken::from_bytes(bad.to_vec())),
                Err(Error::InvalidPageToken { .. })
            ));
        }
    }
}
