//! Result shapes (a result set's column metadata) already sent to one
//! thread's JS, by the number JS files each under. Bounded like mysql2's
//! parser cache: once full, the least recently used number is reused, and
//! JS overwrites its entry when the shape that takes the number crosses
//! (every new shape travels with its metadata; see boundary::Batch).
use lru::LruCache;

/// Shapes kept per pool and thread (dynamic column aliases make new ones).
pub const CAPACITY: usize = 4096;

pub struct Shapes {
    map: LruCache<String, u32>,
    evicted: u64,
}

impl Default for Shapes {
    fn default() -> Self {
        Shapes { map: LruCache::unbounded(), evicted: 0 }
    }
}

impl Shapes {
    /// The number for `meta`, and whether JS has yet to see it under it.
    pub fn file(&mut self, meta: &str) -> (u32, bool) {
        if let Some(id) = self.map.get(meta) {
            return (*id, false);
        }
        let id = if self.map.len() >= CAPACITY {
            self.evicted += 1;
            // Full, so there is a least recently used entry.
            self.map.pop_lru().map(|(_, id)| id).unwrap_or(0)
        } else {
            self.map.len() as u32
        };
        self.map.put(meta.to_string(), id);
        (id, true)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_the_least_recently_used_number_once_full() {
        let mut s = Shapes::default();
        for i in 0..CAPACITY {
            assert_eq!(s.file(&format!("m{i}")), (i as u32, true));
        }
        // m0 used again: m1 is now the oldest.
        assert_eq!(s.file("m0"), (0, false));
        assert_eq!(s.file("new"), (1, true));
        assert_eq!(s.evicted(), 1);
        assert_eq!(s.len(), CAPACITY);
        assert_eq!(s.file("m1"), (2, true));
    }
}
