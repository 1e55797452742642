//! The byte encodings of records kept in redb: fixed-width little-endian fields, length-prefixed
//! blobs, a version byte first so the format can change.

use bytes::Bytes;
use tessera_store::{BucketRecord, Extent, ObjectRecord, StageId, StoreError};

const VERSION: u8 = 1;

pub(crate) fn encode_bucket(r: &BucketRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 8 + 12 + r.owner.len() + r.region.len() + r.config.len());
    out.push(VERSION);
    out.extend_from_slice(&r.created.to_le_bytes());
    put_blob(&mut out, r.owner.as_bytes());
    put_blob(&mut out, r.region.as_bytes());
    put_blob(&mut out, &r.config);
    out
}

pub(crate) fn decode_bucket(b: &[u8]) -> Result<BucketRecord, StoreError> {
    let mut r = Reader::new(b, "bucket record")?;
    let created = r.u64()?;
    let owner = r.string()?;
    let region = r.string()?;
    let config = Bytes::copy_from_slice(r.blob()?);
    r.end()?;
    Ok(BucketRecord { created, owner, region, config })
}

pub(crate) fn encode_object(r: &ObjectRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 24 + 4 + 16 * r.layout.len() + 4 + r.meta.len());
    out.push(VERSION);
    out.extend_from_slice(&r.size.to_le_bytes());
    out.extend_from_slice(&r.generation.to_le_bytes());
    out.extend_from_slice(&r.modified.to_le_bytes());
    out.extend_from_slice(&(r.layout.len() as u32).to_le_bytes());
    for e in &r.layout {
        out.extend_from_slice(&e.stage.get().to_le_bytes());
        out.extend_from_slice(&e.len.to_le_bytes());
    }
    put_blob(&mut out, &r.meta);
    out
}

pub(crate) fn decode_object(b: &[u8]) -> Result<ObjectRecord, StoreError> {
    let mut r = Reader::new(b, "object record")?;
    let size = r.u64()?;
    let generation = r.u64()?;
    let modified = r.u64()?;
    let n = r.u32()? as usize;
    if n > r.rest() / 16 {
        return Err(r.corrupt());
    }
    let mut layout = Vec::with_capacity(n);
    for _ in 0..n {
        layout.push(Extent { stage: StageId::new(r.u64()?), len: r.u64()? });
    }
    let meta = Bytes::copy_from_slice(r.blob()?);
    r.end()?;
    if layout.iter().map(|e| e.len).sum::<u64>() != size {
        return Err(r.corrupt());
    }
    Ok(ObjectRecord { size, generation, modified, layout, meta })
}

/// The stage ids an encoded object record references, without decoding the rest.
pub(crate) fn object_extents(b: &[u8]) -> Result<Vec<u64>, StoreError> {
    Ok(decode_object(b)?.layout.iter().map(|e| e.stage.get()).collect())
}

/// The generation of an encoded object record.
pub(crate) fn object_generation(b: &[u8]) -> Result<u64, StoreError> {
    let mut r = Reader::new(b, "object record")?;
    r.u64()?;
    r.u64()
}

/// A record of consumed staged entries: their bucket and ids.
pub(crate) fn encode_consumed(bucket: &str, ids: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 4 + bucket.len() + 4 + 8 * ids.len());
    out.push(VERSION);
    put_blob(&mut out, bucket.as_bytes());
    out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
    for id in ids {
        out.extend_from_slice(&id.to_le_bytes());
    }
    out
}

pub(crate) fn decode_consumed(b: &[u8]) -> Result<(String, Vec<u64>), StoreError> {
    let mut r = Reader::new(b, "consumed record")?;
    let bucket = r.string()?;
    let n = r.u32()? as usize;
    if n > r.rest() / 8 {
        return Err(r.corrupt());
    }
    let ids = (0..n).map(|_| r.u64()).collect::<Result<Vec<u64>, StoreError>>()?;
    r.end()?;
    Ok((bucket, ids))
}

fn put_blob(out: &mut Vec<u8>, blob: &[u8]) {
    out.extend_from_slice(&(blob.len() as u32).to_le_bytes());
    out.extend_from_slice(blob);
}

struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Result<Self, StoreError> {
        match buf.split_first() {
            Some((&VERSION, rest)) => Ok(Reader { buf: rest, what }),
            _ => Err(StoreError::Corrupt(format!("{what}: unknown version"))),
        }
    }

    fn corrupt(&self) -> StoreError {
        StoreError::Corrupt(format!("{}: malformed", self.what))
    }

    fn rest(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.buf.len() < n {
            return Err(self.corrupt());
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, StoreError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().map_err(|_| self.corrupt())?))
    }

    fn u32(&mut self) -> Result<u32, StoreError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(b.try_into().map_err(|_| self.corrupt())?))
    }

    fn blob(&mut self) -> Result<&'a [u8], StoreError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, StoreError> {
        let b = self.blob()?;
        String::from_utf8(b.to_vec()).map_err(|_| self.corrupt())
    }

    fn end(&self) -> Result<(), StoreError> {
        if self.buf.is_empty() { Ok(()) } else { Err(self.corrupt()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_truncations_are_corrupt() {
        let obj = ObjectRecord {
            size: 30,
            generation: 7,
            modified: 99,
            layout: vec![Extent { stage: StageId::new(1), len: 10 }, Extent { stage: StageId::new(9), len: 20 }],
            meta: Bytes::from_static(b"etag"),
        };
        let enc = encode_object(&obj);
        assert_eq!(decode_object(&enc).unwrap(), obj);
        assert_eq!(object_generation(&enc).unwrap(), 7);
        assert_eq!(object_extents(&enc).unwrap(), vec![1, 9]);
        for n in 0..enc.len() {
            assert!(matches!(decode_object(&enc[..n]), Err(StoreError::Corrupt(_))), "prefix {n}");
        }
        let bucket =
            BucketRecord { created: 1, owner: "o".into(), region: "r".into(), config: Bytes::from_static(b"\x00\x01") };
        let enc = encode_bucket(&bucket);
        assert_eq!(decode_bucket(&enc).unwrap(), bucket);
        for n in 0..enc.len() {
            assert!(decode_bucket(&enc[..n]).is_err());
        }
        let mut bad = encode_object(&obj);
        bad[1] = 31; // size no longer the sum of the extents
        assert!(decode_object(&bad).is_err());
        let enc = encode_consumed("bucket", &[3, 1 << 63, 7]);
        assert_eq!(decode_consumed(&enc).unwrap(), ("bucket".to_owned(), vec![3, 1 << 63, 7]));
        for n in 0..enc.len() {
            assert!(matches!(decode_consumed(&enc[..n]), Err(StoreError::Corrupt(_))), "prefix {n}");
        }
    }
}
