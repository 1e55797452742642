//! The memory backend: the reference implementation every other backend is tested against.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Bound, Range};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use tessera_proto::{BucketName, ObjectKey, UploadId};

use crate::{
    BucketRecord, ByteStream, Extent, ObjectRecord, ObjectWrite, Precondition, StageId, Staged, Store, StoreError,
    check_range,
};

/// A [`Store`] that keeps everything in memory, for tests and `tessera serve --memory`.
///
/// Staged data is kept as the chunks the input stream yielded (no copy, no re-chunking), so
/// memory grows with the data stored and nothing else. Everything is lost when it is dropped.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    buckets: BTreeMap<BucketName, Bucket>,
    // Data of staged parts and of objects' extents; readers hold `Arc`s, so an extent freed
    // while a read streams it lives until that read is done.
    data: HashMap<StageId, Arc<Part>>,
    next_stage: u64,
    next_generation: u64,
}

#[derive(Debug)]
struct Bucket {
    record: BucketRecord,
    objects: BTreeMap<ObjectKey, ObjectRecord>,
    staged: BTreeMap<StageId, u64>,
    uploads: BTreeMap<UploadId, Bytes>,
    /// Part records of the uploads, by upload then part number.
    upload_parts: BTreeMap<(UploadId, u32), Bytes>,
}

impl Bucket {
    fn remove_upload_parts(&mut self, id: &UploadId) {
        let numbers: Vec<u32> =
            self.upload_parts.range((id.clone(), 0)..=(id.clone(), u32::MAX)).map(|((_, n), _)| *n).collect();
        for n in numbers {
            self.upload_parts.remove(&(id.clone(), n));
        }
    }
}

#[derive(Debug)]
struct Part {
    chunks: Vec<Bytes>,
    // Offset of each chunk's first byte within the part.
    starts: Vec<u64>,
}

impl Part {
    /// Zero-copy slices covering `range` of the part.
    fn slices(&self, range: Range<u64>, out: &mut Vec<Bytes>) {
        if range.start >= range.end {
            return;
        }
        let mut i = self.starts.partition_point(|&s| s <= range.start) - 1;
        while i < self.chunks.len() && self.starts[i] < range.end {
            let chunk = &self.chunks[i];
            let start = self.starts[i];
            let from = range.start.saturating_sub(start) as usize;
            let to = (range.end - start).min(chunk.len() as u64) as usize;
            if from < to {
                out.push(chunk.slice(from..to));
            }
            i += 1;
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated: every mutation
        // below checks first and mutates after, without calls that can panic in between.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    fn bucket(&self, name: &BucketName) -> Result<&Bucket, StoreError> {
        self.buckets.get(name).ok_or(StoreError::NoSuchBucket)
    }

    fn bucket_mut(&mut self, name: &BucketName) -> Result<&mut Bucket, StoreError> {
        self.buckets.get_mut(name).ok_or(StoreError::NoSuchBucket)
    }

    fn free(&mut self, layout: &[Extent]) {
        for extent in layout {
            self.data.remove(&extent.stage);
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_bucket(&self, name: &BucketName, record: BucketRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.buckets.contains_key(name) {
            return Err(StoreError::BucketExists);
        }
        let bucket = Bucket {
            record,
            objects: BTreeMap::new(),
            staged: BTreeMap::new(),
            uploads: BTreeMap::new(),
            upload_parts: BTreeMap::new(),
        };
        inner.buckets.insert(name.clone(), bucket);
        Ok(())
    }

    async fn bucket(&self, name: &BucketName) -> Result<Option<BucketRecord>, StoreError> {
        Ok(self.lock().buckets.get(name).map(|b| b.record.clone()))
    }

    async fn update_bucket(&self, name: &BucketName, record: BucketRecord) -> Result<(), StoreError> {
        self.lock().bucket_mut(name)?.record = record;
        Ok(())
    }

    async fn delete_bucket(&self, name: &BucketName) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let bucket = inner.bucket(name)?;
        if !bucket.objects.is_empty() || !bucket.staged.is_empty() || !bucket.uploads.is_empty() {
            return Err(StoreError::BucketNotEmpty);
        }
        inner.buckets.remove(name);
        Ok(())
    }

    async fn list_buckets(&self) -> Result<Vec<(BucketName, BucketRecord)>, StoreError> {
        Ok(self.lock().buckets.iter().map(|(n, b)| (n.clone(), b.record.clone())).collect())
    }

    async fn stage(&self, bucket: &BucketName, mut data: ByteStream) -> Result<Staged, StoreError> {
        self.lock().bucket(bucket)?;
        let mut chunks = Vec::new();
        let mut starts = Vec::new();
        let mut len = 0u64;
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            if !chunk.is_empty() {
                starts.push(len);
                len += chunk.len() as u64;
                chunks.push(chunk);
            }
        }
        let mut inner = self.lock();
        // The bucket may have been deleted while the data streamed in.
        inner.bucket(bucket)?;
        let id = StageId::new(inner.next_stage);
        inner.next_stage += 1;
        inner.data.insert(id, Arc::new(Part { chunks, starts }));
        inner.bucket_mut(bucket)?.staged.insert(id, len);
        Ok(Staged { id, len })
    }

    async fn discard(&self, bucket: &BucketName, stage: StageId) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.bucket_mut(bucket)?.staged.remove(&stage).ok_or(StoreError::NoSuchStage)?;
        inner.data.remove(&stage);
        Ok(())
    }

    async fn list_staged(&self, bucket: &BucketName) -> Result<Vec<Staged>, StoreError> {
        let inner = self.lock();
        Ok(inner.bucket(bucket)?.staged.iter().map(|(&id, &len)| Staged { id, len }).collect())
    }

    async fn assemble(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        write: ObjectWrite,
        cond: Precondition,
        also_delete_upload: Option<&UploadId>,
    ) -> Result<ObjectRecord, StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let b = inner.buckets.get_mut(bucket).ok_or(StoreError::NoSuchBucket)?;
        // Check everything before changing anything.
        if !cond.holds(b.objects.get(key).map(|o| o.generation)) {
            return Err(StoreError::PreconditionFailed);
        }
        let mut layout = Vec::with_capacity(write.parts.len());
        let mut seen = std::collections::HashSet::with_capacity(write.parts.len());
        for &stage in &write.parts {
            let len = b.staged.get(&stage).copied().ok_or(StoreError::NoSuchStage)?;
            if !seen.insert(stage) {
                return Err(StoreError::NoSuchStage);
            }
            layout.push(Extent { stage, len });
        }
        if let Some(id) = also_delete_upload {
            if !b.uploads.contains_key(id) {
                return Err(StoreError::NoSuchUpload);
            }
            b.uploads.remove(id);
            b.remove_upload_parts(id);
        }
        for extent in &layout {
            b.staged.remove(&extent.stage);
        }
        inner.next_generation += 1;
        let record = ObjectRecord {
            size: layout.iter().map(|e| e.len).sum(),
            generation: inner.next_generation,
            modified: write.modified,
            layout,
            meta: write.meta,
        };
        if let Some(old) = b.objects.insert(key.clone(), record.clone()) {
            inner.free(&old.layout);
        }
        Ok(record)
    }

    async fn object(&self, bucket: &BucketName, key: &ObjectKey) -> Result<Option<ObjectRecord>, StoreError> {
        Ok(self.lock().bucket(bucket)?.objects.get(key).cloned())
    }

    async fn read(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        record: &ObjectRecord,
        range: Range<u64>,
    ) -> Result<ByteStream, StoreError> {
        check_range(&range, record.size)?;
        let inner = self.lock();
        match inner.bucket(bucket)?.objects.get(key) {
            Some(current) if current.generation == record.generation => {}
            _ => return Err(StoreError::NoSuchKey),
        }
        let mut slices = Vec::new();
        let mut offset = 0u64;
        for extent in &record.layout {
            let (start, end) = (offset, offset + extent.len);
            offset = end;
            if end <= range.start || start >= range.end {
                continue;
            }
            let part = inner
                .data
                .get(&extent.stage)
                .ok_or_else(|| StoreError::Corrupt(format!("extent {} of {bucket}/{key} has no data", extent.stage)))?;
            part.slices(range.start.max(start) - start..range.end.min(end) - start, &mut slices);
        }
        Ok(Box::pin(futures_util::stream::iter(slices.into_iter().map(Ok))))
    }

    async fn delete_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        cond: Precondition,
    ) -> Result<ObjectRecord, StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let b = inner.buckets.get_mut(bucket).ok_or(StoreError::NoSuchBucket)?;
        let current = b.objects.get(key).map(|o| o.generation);
        if !cond.holds(current) {
            return Err(StoreError::PreconditionFailed);
        }
        let old = b.objects.remove(key).ok_or(StoreError::NoSuchKey)?;
        inner.free(&old.layout);
        Ok(old)
    }

    async fn list_objects(
        &self,
        bucket: &BucketName,
        prefix: &str,
        start_after: Option<&ObjectKey>,
        limit: usize,
    ) -> Result<Vec<(ObjectKey, ObjectRecord)>, StoreError> {
        let inner = self.lock();
        let b = inner.bucket(bucket)?;
        // Start at whichever is later: the prefix itself or just after the marker.
        let lower = match start_after {
            Some(after) if after.as_str() >= prefix => Bound::Excluded(after.as_str()),
            _ => Bound::Included(prefix),
        };
        Ok(b.objects
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.as_str().starts_with(prefix))
            .take(limit)
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect())
    }

    async fn put_upload(&self, bucket: &BucketName, id: &UploadId, record: Bytes) -> Result<(), StoreError> {
        self.lock().bucket_mut(bucket)?.uploads.insert(id.clone(), record);
        Ok(())
    }

    async fn upload(&self, bucket: &BucketName, id: &UploadId) -> Result<Option<Bytes>, StoreError> {
        Ok(self.lock().bucket(bucket)?.uploads.get(id).cloned())
    }

    async fn delete_upload(&self, bucket: &BucketName, id: &UploadId) -> Result<(), StoreError> {
        let mut state = self.lock();
        let b = state.bucket_mut(bucket)?;
        b.uploads.remove(id).ok_or(StoreError::NoSuchUpload)?;
        b.remove_upload_parts(id);
        Ok(())
    }

    async fn put_upload_part(
        &self,
        bucket: &BucketName,
        id: &UploadId,
        number: u32,
        record: Bytes,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let b = state.bucket_mut(bucket)?;
        if !b.uploads.contains_key(id) {
            return Err(StoreError::NoSuchUpload);
        }
        b.upload_parts.insert((id.clone(), number), record);
        Ok(())
    }

    async fn upload_parts(&self, bucket: &BucketName, id: &UploadId) -> Result<Vec<(u32, Bytes)>, StoreError> {
        let state = self.lock();
        let b = state.bucket(bucket)?;
        Ok(b.upload_parts.range((id.clone(), 0)..=(id.clone(), u32::MAX)).map(|((_, n), r)| (*n, r.clone())).collect())
    }

    async fn list_uploads(&self, bucket: &BucketName) -> Result<Vec<(UploadId, Bytes)>, StoreError> {
        Ok(self.lock().bucket(bucket)?.uploads.iter().map(|(id, r)| (id.clone(), r.clone())).collect())
    }

    async fn all_uploads(&self) -> Result<Vec<(BucketName, UploadId, Bytes)>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .buckets
            .iter()
            .flat_map(|(name, b)| b.uploads.iter().map(|(id, r)| (name.clone(), id.clone(), r.clone())))
            .collect())
    }
}
