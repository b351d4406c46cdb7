//! Listings a page at a time: the page of records an adapter answers, the
//! opaque token a listing resumes from, and the walk over every page.

use std::fmt;
use std::str::FromStr;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::record::TaskRecord;

use super::StorageAdapter;

/// How many records a listing asks for at a time, unless told otherwise:
/// the page size of the default [`StorageAdapter::all`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use taskrec::{MemoryAdapter, TaskRecord};
/// use taskrec::adapter::{StorageAdapter, DEFAULT_PAGE_SIZE};
/// let adapter = MemoryAdapter::new();
/// for i in 0..=DEFAULT_PAGE_SIZE {
///     adapter.store(&TaskRecord::new("l", format!("{i:04}"), "T", "{}")?).await?;
/// }
/// let page = adapter.page("l", None, DEFAULT_PAGE_SIZE).await?;
/// assert_eq!((page.records.len(), page.is_last()), (1000, false));
/// # Ok(()) }
/// ```
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// Where a listing stopped: opaque bytes that only the adapter that made them
/// understands. Keep it (as bytes or as its hex text) to resume later.
///
/// ```
/// use taskrec::PageToken;
/// let token = PageToken::from_bytes(vec![0xca, 0xfe]);
/// let text = token.to_string();
/// assert_eq!(text, "cafe");
/// assert_eq!(text.parse::<PageToken>()?, token);
/// assert!("not hex".parse::<PageToken>().is_err());
/// # Ok::<(), taskrec::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PageToken(Vec<u8>);

impl PageToken {
    /// A token from the bytes an adapter chose.
    ///
    /// ```
    /// let token = taskrec::PageToken::from_bytes("k42");
    /// assert_eq!(token.as_bytes(), b"k42");
    /// assert_eq!(token.to_string(), "6b3432");
    /// ```
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        PageToken(bytes.into())
    }

    /// The token's bytes.
    ///
    /// ```
    /// let token: taskrec::PageToken = "00ff".parse()?;
    /// assert_eq!(token.as_bytes(), [0x00, 0xff]);
    /// # Ok::<(), taskrec::Error>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The token's bytes, taking the token apart.
    ///
    /// ```
    /// let token = taskrec::PageToken::from_bytes(vec![1, 2, 3]);
    /// let bytes: Vec<u8> = token.into_bytes();
    /// assert_eq!(bytes, [1, 2, 3]);
    /// ```
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Display for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PageToken({self})")
    }
}

impl FromStr for PageToken {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidPageToken {
            reason: reason.to_owned(),
        };
        if !text.len().is_multiple_of(2) {
            return Err(invalid("odd number of hex digits"));
        }
        text.as_bytes()
            .chunks(2)
            .map(|pair| match pair {
                // from_str_radix alone would also take a sign ("+f").
                [hi, lo] if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
                    Ok((hex_value(*hi) << 4) | hex_value(*lo))
                }
                _ => Err(invalid("not hexadecimal text")),
            })
            .collect::<Result<Vec<u8>>>()
            .map(PageToken)
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// One page of a listing: some records and where to continue.
///
/// ```
/// let page = taskrec::adapter::Page { records: Vec::new(), next: None };
/// assert!(page.is_last());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The records of this page, at most the page size asked for.
    pub records: Vec<TaskRecord>,
    /// The token for the next page; `None` on the last page.
    pub next: Option<PageToken>,
}

impl Page {
    /// Whether this is the last page of the listing.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
    /// use taskrec::{MemoryAdapter, TaskRecord};
    /// use taskrec::adapter::StorageAdapter;
    /// let adapter = MemoryAdapter::new();
    /// for id in ["a", "b", "c"] {
    ///     adapter.store(&TaskRecord::new("l", id, "T", "{}")?).await?;
    /// }
    /// let first = adapter.page("l", None, 2).await?;
    /// assert!(!first.is_last());
    /// assert!(adapter.page("l", first.next.as_ref(), 2).await?.is_last());
    /// # Ok(()) }
    /// ```
    pub fn is_last(&self) -> bool {
        self.next.is_none()
    }
}

/// The records of a task list as a stream that fetches one page at a time:
/// the default [`StorageAdapter::all`], usable by adapters that override it
/// only to pick another page size.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> taskrec::Result<()> {
/// use futures::TryStreamExt;
/// use taskrec::{MemoryAdapter, TaskRecord};
/// use taskrec::adapter::StorageAdapter;
/// let adapter = MemoryAdapter::new();
/// for i in 0..5 {
///     adapter.store(&TaskRecord::new("l", format!("{i}"), "T", "{}")?).await?;
/// }
/// let records: Vec<_> = taskrec::adapter::walk_pages(&adapter, "l", 2).try_collect().await?;
/// assert_eq!(records.len(), 5);
/// # Ok(()) }
/// ```
pub fn walk_pages<'a, A>(
    adapter: &'a A,
    task_list: &'a str,
    page_size: usize,
) -> BoxStream<'a, Result<TaskRecord>>
where
    A: StorageAdapter + ?Sized,
{
    enum Walk {
        Start,
        From(PageToken),
        Done,
    }
    stream::try_unfold(Walk::Start, move |walk| async move {
        let token = match walk {
            Walk::Done => return Ok(None),
            Walk::Start => None,
            Walk::From(token) => Some(token),
        };
        let page = adapter.page(task_list, token.as_ref(), page_size).await?;
        let next = match page.next {
            Some(token) => Walk::From(token),
            None => Walk::Done,
        };
        Ok(Some((page.records, next)))
    })
    .map_ok(|records| stream::iter(records.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}
