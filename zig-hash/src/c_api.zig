//! Every exported symbol of the kernel, all prefixed rn_. Errors are negative return codes.
const std = @import("std");
const builtin = @import("builtin");
const cpu = @import("cpu.zig");
const sha = @import("sha256.zig");
const sha256d = @import("sha256d.zig");
const scrypt = @import("scrypt.zig");
const shani = @import("shani.zig");

/// Bumped whenever an exported signature or meaning changes; the TypeScript binding checks it.
pub const abi_version: u32 = 3;
pub const kernel_version = "0.1.0";

pub const Algo = enum(u32) { sha256d = 0, scrypt = 1 };

pub const Status = enum(i32) {
    ok = 0,
    bad_algo = -1,
    scratch_too_small = -2,
    bad_argument = -3,
    unsupported = -4,
};

/// How a scan is computed: SIMD lanes (every build, every algorithm) or the SHA extensions (sha256d only).
pub const Impl = enum(u32) { simd = 0, shani = 1 };

const has_avx512 = builtin.cpu.arch == .x86_64 and std.Target.x86.featureSetHas(builtin.cpu.features, .avx512f);
const has_avx2 = builtin.cpu.arch == .x86_64 and std.Target.x86.featureSetHas(builtin.cpu.features, .avx2);
/// The SHA-NI path is compiled in when the build targets it, and run only when CPUID says the CPU has it.
const has_sha = builtin.cpu.arch == .x86_64 and std.Target.x86.featureSetHas(builtin.cpu.features, .sha);

var features_cache = std.atomic.Value(u32).init(0);

/// CPUID once: in a VM every CPUID instruction is a trap to the hypervisor.
fn cpuFeatures() u32 {
    const c = features_cache.load(.monotonic);
    if (c != 0) return c;
    const f = cpu.detect();
    features_cache.store(f, .monotonic);
    return f;
}

fn implRuns(algo: Algo, impl: Impl) bool {
    return switch (impl) {
        .simd => true,
        .shani => algo == .sha256d and has_sha and cpuFeatures() & cpu.feature_sha != 0,
    };
}

/// Which build this is: 0 = x86-64 baseline, 1 = x86-64-v3, 2 = x86-64-v4; taken from the compile target.
pub const variant: u32 = if (has_avx512) 2 else if (has_avx2) 1 else 0;
/// Lanes per SIMD step: one 32-bit word per lane in the widest vector register of the target.
pub const lanes: usize = if (has_avx512) 16 else if (has_avx2) 8 else 4;

const align_slack = 64;
const ScryptV = @Vector(lanes, u32);

fn scratchFor(algo: Algo) usize {
    return switch (algo) {
        .sha256d => 0,
        .scrypt => scrypt.scratchBytes(lanes) + align_slack,
    };
}

fn alignedScratch(comptime T: type, scratch: ?[*]u8, len: usize, need: usize) ?[*]T {
    if (need == 0) return @ptrFromInt(@alignOf(T));
    const p = scratch orelse return null;
    if (len < need) return null;
    const addr = std.mem.alignForward(usize, @intFromPtr(p), align_slack);
    return @ptrFromInt(addr);
}

fn toAlgo(a: u32) ?Algo {
    return std.meta.intToEnum(Algo, a) catch null;
}

pub export fn rn_abi_version() u32 {
    return abi_version;
}

pub export fn rn_kernel_version() [*:0]const u8 {
    return kernel_version;
}

pub export fn rn_variant() u32 {
    return variant;
}

pub export fn rn_lanes() u32 {
    return lanes;
}

pub export fn rn_features() u32 {
    return cpuFeatures();
}

/// Bit i set when implementation i (see Impl) can scan `algo` in this build on this CPU; 0 for an unknown algo.
pub export fn rn_impls(algo: u32) u32 {
    const a = toAlgo(algo) orelse return 0;
    var m: u32 = 0;
    inline for (std.meta.fields(Impl)) |f| {
        if (implRuns(a, @enumFromInt(f.value))) m |= @as(u32, 1) << f.value;
    }
    return m;
}

/// Bytes of caller-owned scratch memory that rn_hash and rn_scan need for `algo` (0 for none); -1 for an unknown algo.
pub export fn rn_scratch_size(algo: u32) i64 {
    const a = toAlgo(algo) orelse return @intFromEnum(Status.bad_algo);
    return @intCast(scratchFor(a));
}

/// Hashes one 80-byte header; writes the 32 digest bytes (SHA order, i.e. the hash as a little-endian number).
pub export fn rn_hash(algo: u32, in80: [*]const u8, out32: [*]u8, scratch: ?[*]u8, scratch_len: usize) i32 {
    const a = toAlgo(algo) orelse return @intFromEnum(Status.bad_algo);
    const header: *const [80]u8 = in80[0..80];
    switch (a) {
        .sha256d => out32[0..32].* = sha.sha256d80(header),
        .scrypt => {
            // One header: the 1-lane path (the same scratch holds it), not L copies of the same work.
            const s = alignedScratch(ScryptV, scratch, scratch_len, scratchFor(a)) orelse return @intFromEnum(Status.scratch_too_small);
            out32[0..32].* = scrypt.hash1(header, @ptrCast(s));
        },
    }
    return @intFromEnum(Status.ok);
}

/// Hashes `n` distinct 80-byte headers laid end to end at `in`; digest i goes to out[32*i..]. scrypt runs them through
/// the SIMD lanes (a pool validating shares gets the lanes' throughput); sha256d one after the other.
pub export fn rn_hash_many(algo: u32, in: [*]const u8, n: u32, out: [*]u8, scratch: ?[*]u8, scratch_len: usize) i32 {
    const a = toAlgo(algo) orelse return @intFromEnum(Status.bad_algo);
    switch (a) {
        .sha256d => {
            for (0..n) |i| out[i * 32 ..][0..32].* = sha.sha256d80(in[i * 80 ..][0..80]);
        },
        .scrypt => {
            const s = alignedScratch(ScryptV, scratch, scratch_len, scratchFor(a)) orelse return @intFromEnum(Status.scratch_too_small);
            var base: usize = 0;
            while (base < n) : (base += lanes) {
                // Lanes past the last header repeat it; their digests are not written.
                var pw: [20]ScryptV = undefined;
                inline for (0..lanes) |l| {
                    const idx = @min(base + l, n - 1);
                    const w = sha.wordsBE(20, in[idx * 80 ..][0..80]);
                    inline for (0..20) |i| pw[i][l] = w[i];
                }
                var d: [8]ScryptV = undefined;
                scrypt.hashLanes(lanes, &pw, s, &d);
                inline for (0..lanes) |l| {
                    if (base + l < n) {
                        inline for (0..8) |i| std.mem.writeInt(u32, out[(base + l) * 32 + i * 4 ..][0..4], d[i][l], .big);
                    }
                }
            }
        },
    }
    return @intFromEnum(Status.ok);
}

/// Scans nonces [start, start+count) of the header (nonce = LE u32 at bytes 76..79); every nonce whose hash
/// is <= target (both little-endian 256-bit numbers) is counted, the first out_cap written ascending to out.
/// `impl` picks the implementation (see rn_impls). Returns the number of hits, or a negative Status.
pub export fn rn_scan(algo: u32, impl: u32, header: [*]const u8, start: u32, count: u32, target: [*]const u8, out: ?[*]u32, out_cap: u32, scratch: ?[*]u8, scratch_len: usize) i64 {
    const a = toAlgo(algo) orelse return @intFromEnum(Status.bad_algo);
    const im = std.meta.intToEnum(Impl, impl) catch return @intFromEnum(Status.unsupported);
    if (!implRuns(a, im)) return @intFromEnum(Status.unsupported);
    if (out == null and out_cap != 0) return @intFromEnum(Status.bad_argument);
    const outs: []u32 = if (out) |o| o[0..out_cap] else &[_]u32{};
    const h: *const [80]u8 = header[0..80];
    const t: *const [32]u8 = target[0..32];
    return switch (a) {
        .sha256d => if (has_sha and im == .shani) shani.scan(h, start, count, t, outs) else sha256d.scan(lanes, h, start, count, t, outs),
        .scrypt => blk: {
            const s = alignedScratch(ScryptV, scratch, scratch_len, scratchFor(a)) orelse return @intFromEnum(Status.scratch_too_small);
            break :blk scrypt.scan(lanes, h, start, count, t, outs, s);
        },
    };
}

test {
    _ = @import("sha256.zig");
    _ = @import("target.zig");
    _ = @import("cpu.zig");
    _ = @import("scrypt.zig");
    _ = @import("vectors_test.zig");
}
