//! Fuzz the TLSF allocator: input bytes are a range length, a descriptor
//! capacity and a sequence of alloc / free / rebuild operations, checked
//! after each one against a shadow model of the live blocks.
//!
//! Run: `cargo +nightly fuzz run tlsf_ops` from the repository root.
#![no_main]

use accelmem::engine::tlsf::{Arena, Desc, DescPool, Tlsf, D_USED, NIL};
use accelmem::Error;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([self.u8()?, self.u8()?, self.u8()?, self.u8()?]))
    }
}

/// Smallest free block TLSF is guaranteed to find for a search of `s`
/// units (good-fit: `s` rounded up to its second-level class boundary).
fn search_floor(s: u64) -> u64 {
    if s < 16 {
        return s;
    }
    let f = 63 - s.leading_zeros();
    let r = s + (1u64 << (f - 4)) - 1;
    let f2 = 63 - r.leading_zeros();
    r & !((1u64 << (f2 - 4)) - 1)
}

struct State {
    descs: Vec<Desc>,
    pool: DescPool,
    t: Tlsf,
    total: u64,
    /// Live blocks: offset -> (len, descriptor, user).
    live: BTreeMap<u64, (u64, u32, u32)>,
}

impl State {
    fn parts(&mut self) -> (Arena<'_>, &mut Tlsf) {
        (
            Arena {
                descs: &mut self.descs,
                pool: &mut self.pool,
            },
            &mut self.t,
        )
    }

    fn descs_in_use(&self) -> usize {
        let mut n = self.pool.high as usize;
        let mut i = self.pool.free_head;
        while i != NIL {
            assert!(n > 0, "descriptor free list longer than the high mark");
            n -= 1;
            i = self.descs[i as usize].next_free;
        }
        n
    }

    fn gaps(&self) -> Vec<u64> {
        let mut out = vec![];
        let mut cur = 0;
        for (&o, &(l, _, _)) in &self.live {
            if o > cur {
                out.push(o - cur);
            }
            cur = o + l;
        }
        if cur < self.total {
            out.push(self.total - cur);
        }
        out
    }

    fn check(&mut self) {
        let in_use = self.descs_in_use();
        let gaps = self.gaps();
        let used: u64 = self.live.values().map(|v| v.0).sum();
        let nlive = self.live.len();
        let (ar, t) = self.parts();
        if let Err(e) = t.check(&ar) {
            panic!("check: {e}");
        }
        assert_eq!(t.used, used, "used units");
        assert_eq!(t.nused, nlive as u64, "used blocks");
        assert_eq!(t.largest_free(&ar), gaps.iter().copied().max().unwrap_or(0), "largest free");
        assert_eq!(in_use, nlive + gaps.len(), "descriptors in use");
        for (&o, &(l, d, u)) in &self.live {
            let b = &self.descs[d as usize];
            assert_eq!((b.off, b.len, b.state, b.user), (o, l, D_USED, u), "descriptor {d}");
        }
    }

    fn alloc(&mut self, len: u64, align: u64, user: u32) {
        let in_use = self.descs_in_use();
        let cap = self.descs.len();
        let total = self.total;
        let largest = self.gaps().into_iter().max().unwrap_or(0);
        let (mut ar, t) = self.parts();
        match t.alloc(&mut ar, len, align, user) {
            Ok(d) => {
                let b = ar.descs[d as usize];
                assert_eq!(b.len, len);
                assert!(align.max(1).is_power_of_two() && b.off % align.max(1) == 0, "misaligned");
                assert!(b.off + len <= total, "outside the range");
                let prev = self.live.range(..b.off + len).next_back();
                assert!(prev.is_none_or(|(&o, &(l, _, _))| o + l <= b.off), "overlaps a live block");
                self.live.insert(b.off, (len, d, user));
            }
            Err(Error::OutOfMemory) => {
                let a = align.max(1);
                if let Some(s) = len.checked_add(a - 1) {
                    assert!(
                        len > total || largest < search_floor(s),
                        "OutOfMemory for {len}/{a} with a gap of {largest}"
                    );
                }
            }
            Err(Error::LimitReached) => assert!(in_use + 1 >= cap, "LimitReached with {in_use} of {cap} in use"),
            Err(Error::InvalidArgument) => assert!(len == 0 || !align.max(1).is_power_of_two()),
            Err(e) => panic!("alloc: unexpected {e:?}"),
        }
    }

    fn free(&mut self, k: usize) {
        let Some((&off, &(_, d, _))) = self.live.iter().nth(k) else {
            return;
        };
        let (mut ar, t) = self.parts();
        t.free(&mut ar, d).expect("free of a live block");
        assert_eq!(t.free(&mut ar, d), Err(Error::NotFound), "double free");
        self.live.remove(&off);
    }

    fn rebuild(&mut self) {
        let used: Vec<(u64, u64, u32)> = self.live.iter().map(|(&o, &(l, _, u))| (o, l, u)).collect();
        let total = self.total;
        let (mut ar, t) = self.parts();
        ar.reset();
        // The rebuilt blocks are the blocks in use now, so they always fit.
        let ds = t.rebuild(&mut ar, total, &used).expect("rebuild");
        for (v, d) in self.live.values_mut().zip(ds) {
            v.1 = d;
        }
    }
}

fn setup(inp: &mut Input) -> Option<State> {
    let total = match inp.u8()? % 4 {
        0 => 1 + inp.u8()? as u64,
        1 => 1 + inp.u16()? as u64,
        2 => 1u64 << (inp.u8()? % 39),
        _ => 1 + inp.u32()? as u64,
    };
    let c = inp.u8()?;
    let cap = if c & 0x80 != 0 { 4096 } else { 1 + (c as usize % 32) };
    let mut s = State {
        descs: vec![Desc::default(); cap],
        pool: DescPool { free_head: NIL, high: 0 },
        t: Tlsf::default(),
        total,
        live: BTreeMap::new(),
    };
    let (mut ar, t) = s.parts();
    t.init(&mut ar, total).expect("init");
    Some(s)
}

/// Run operations until the input runs out (possibly mid-operation).
fn ops(s: &mut State, inp: &mut Input) -> Option<()> {
    let total = s.total;
    let mut user = 0u32;
    while let Some(op) = inp.u8() {
        match op {
            0..=159 => {
                let len = match op % 5 {
                    0 => inp.u8()? as u64,
                    1 => inp.u16()? as u64,
                    2 => 1u64 << (inp.u8()? % 64),
                    3 => inp.u32()? as u64,
                    _ => total.saturating_sub(inp.u8()? as u64),
                };
                // Mostly powers of two up to 64; sometimes not, to check
                // the argument check.
                let a = inp.u8()?;
                let align = if a < 250 { 1 << (a % 7) } else { a as u64 };
                user += 1;
                s.alloc(len, align, user);
            }
            160..=249 => {
                let k = inp.u16()? as usize;
                if !s.live.is_empty() {
                    s.free(k % s.live.len());
                }
            }
            _ => s.rebuild(),
        }
        s.check();
    }
    Some(())
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let Some(mut s) = setup(&mut inp) else { return };
    let _ = ops(&mut s, &mut inp);
    // Free everything: one block again, the whole range.
    while !s.live.is_empty() {
        s.free(0);
    }
    s.check();
    let total = s.total;
    let cap = s.descs.len();
    let (mut ar, t) = s.parts();
    assert_eq!(t.largest_free(&ar), total, "not fully coalesced");
    // The largest request good fit guarantees from that one block: all of
    // it rounded down to its second-level class boundary.
    let whole = if total < 16 {
        total
    } else {
        total & !((1u64 << (total.ilog2() - 4)) - 1)
    };
    assert!(search_floor(whole) <= total);
    match t.alloc(&mut ar, whole, 1, 0) {
        Ok(d) => assert_eq!(ar.descs[d as usize].off, 0),
        // Leaving a tail free takes a second descriptor.
        Err(Error::LimitReached) => assert!(whole < total && cap < 2),
        Err(e) => panic!("the whole range, rounded to its class: {e:?}"),
    }
});
