import Foundation

#if canImport(Glibc)
import Glibc
#else
#error("TCSplitterLinkEmulator needs Linux TUN devices")
#endif

// A point-to-point link with a fixed one-way delay, between two TUN devices (the kernel here has
// no netem). Used by utils/bench: one TUN device ends up in the client namespace, the other in the
// router namespace; every IP packet read from one is written to the other `--delay-ms` later, in
// order. Rates, drops and per-flow policing are done by the kernel around it (htb/tbf, nftables),
// so this program only delays and copies.
//
//   TCSplitterLinkEmulator --a NAME --b NAME [--delay-ms D] [--slots N] [--mtu M]
//
// It creates both devices (IFF_TUN | IFF_NO_PI) in its own network namespace, prints
// `link-emulator ready a=NAME b=NAME delay-ms=D` once both are open, runs one thread per
// direction, and on SIGINT/SIGTERM prints one `link-emulator stats` line per direction (packets,
// bytes, queue-full drops, deepest queue) and exits 0. A direction holds at most `--slots`
// packets (default 16384, each slot `--mtu` bytes); a packet arriving at a full queue is dropped
// and counted, as a router's full buffer would.

struct Options {
    var deviceA = ""
    var deviceB = ""
    var delayNanoseconds: UInt64 = 0
    var slots = 16384
    var mtu = 1500
}

func usage(_ message: String) -> Never {
    FileHandle.standardError.write(
        Data(
            "TCSplitterLinkEmulator: \(message)\nusage: TCSplitterLinkEmulator --a NAME --b NAME [--delay-ms D] [--slots N] [--mtu M]\n"
                .utf8))
    exit(2)
}

func parseOptions(_ arguments: [String]) -> Options {
    var options = Options()
    var index = 0
    func value(_ flag: String) -> String {
        index += 1
        guard index < arguments.count else { usage("\(flag) needs a value") }
        return arguments[index]
    }
    while index < arguments.count {
        let flag = arguments[index]
        switch flag {
        case "--a": options.deviceA = value(flag)
        case "--b": options.deviceB = value(flag)
        case "--delay-ms":
            guard let ms = Double(value(flag)), ms >= 0, ms <= 10_000 else { usage("--delay-ms must be 0...10000") }
            options.delayNanoseconds = UInt64(ms * 1_000_000)
        case "--slots":
            guard let n = Int(value(flag)), n >= 16, n <= 1 << 20 else { usage("--slots must be 16...1048576") }
            options.slots = n
        case "--mtu":
            guard let n = Int(value(flag)), n >= 576, n <= 65535 else { usage("--mtu must be 576...65535") }
            options.mtu = n
        case "-h", "--help": usage("help")
        default: usage("unknown argument \(flag)")
        }
        index += 1
    }
    guard !options.deviceA.isEmpty, !options.deviceB.isEmpty, options.deviceA != options.deviceB else {
        usage("--a and --b name two different devices")
    }
    guard options.deviceA.utf8.count < 16, options.deviceB.utf8.count < 16 else {
        usage("device names are at most 15 bytes")
    }
    return options
}

/// Opens (creating) TUN device `name` without packet information, non-blocking.
func openTun(_ name: String) -> Int32 {
    let fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { usage("open /dev/net/tun: \(String(cString: strerror(errno)))") }
    // struct ifreq: char ifr_name[16]; union { short ifr_flags; ... } (40 bytes in all on x86_64).
    var request = [UInt8](repeating: 0, count: 40)
    for (i, byte) in name.utf8.enumerated() { request[i] = byte }
    let flags: UInt16 = 0x0001 | 0x1000  // IFF_TUN | IFF_NO_PI
    request[16] = UInt8(flags & 0xFF)
    request[17] = UInt8(flags >> 8)
    let TUNSETIFF: UInt = 0x4004_54CA
    let status = request.withUnsafeMutableBytes { ioctl(fd, TUNSETIFF, $0.baseAddress!) }
    guard status == 0 else { usage("TUNSETIFF \(name): \(String(cString: strerror(errno)))") }
    let current = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, current | O_NONBLOCK)
    return fd
}

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Counters of one direction, written by its thread only (read racily for the final report).
final class DirectionStats: @unchecked Sendable {
    var packets: UInt64 = 0
    var bytes: UInt64 = 0
    var queueDrops: UInt64 = 0
    var writeErrors: UInt64 = 0
    var deepestQueue = 0
}

/// Moves packets from `input` to `output`, each `delay` after it was read, in order.
func relay(input: Int32, output: Int32, delay: UInt64, slots: Int, slotBytes: Int, stats: DirectionStats) -> Never {
    let ring = UnsafeMutableRawPointer.allocate(byteCount: slots * slotBytes, alignment: 64)
    let lengths = UnsafeMutablePointer<Int>.allocate(capacity: slots)
    let due = UnsafeMutablePointer<UInt64>.allocate(capacity: slots)
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: slotBytes, alignment: 64)
    var head = 0
    var count = 0
    while true {
        // Release everything that is due.
        var now = monotonicNanoseconds()
        while count > 0, due[head] <= now {
            let written = write(output, ring + head * slotBytes, lengths[head])
            if written < 0 { stats.writeErrors += 1 }
            stats.packets += 1
            stats.bytes += UInt64(lengths[head])
            head = (head + 1) % slots
            count -= 1
        }
        // Wait for the next packet or the next release, whichever comes first (select: microseconds;
        // poll's milliseconds would bunch releases into bursts).
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        if count > 0 {
            let wait = due[head] - now
            timeout = timeval(tv_sec: Int(wait / 1_000_000_000), tv_usec: Int((wait % 1_000_000_000 + 999) / 1000))
        }
        var readable = fd_set()
        withUnsafeMutableBytes(of: &readable) { raw in
            let words = raw.bindMemory(to: UInt.self)
            words[Int(input) / UInt.bitWidth] |= 1 << (UInt(input) % UInt(UInt.bitWidth))
        }
        let ready = select(input + 1, &readable, nil, nil, &timeout)
        guard ready > 0 else { continue }
        // Read what is there (bounded, so due packets are never held back for long).
        now = monotonicNanoseconds()
        for _ in 0..<64 {
            if count == slots {
                let dropped = read(input, scratch, slotBytes)
                if dropped <= 0 { break }
                stats.queueDrops += 1
                continue
            }
            let tail = (head + count) % slots
            let length = read(input, ring + tail * slotBytes, slotBytes)
            if length <= 0 { break }
            lengths[tail] = length
            due[tail] = now + delay
            count += 1
            if count > stats.deepestQueue { stats.deepestQueue = count }
        }
    }
}

let options = parseOptions(Array(CommandLine.arguments.dropFirst()))

// Signals are taken by sigwait on the main thread only: block them before any thread starts.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGINT)
sigaddset(&stopSignals, SIGTERM)
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

let fdA = openTun(options.deviceA)
let fdB = openTun(options.deviceB)
let slotBytes = options.mtu + 64
let statsAB = DirectionStats()
let statsBA = DirectionStats()
let delay = options.delayNanoseconds
let slots = options.slots
let threadAB = Thread {
    relay(input: fdA, output: fdB, delay: delay, slots: slots, slotBytes: slotBytes, stats: statsAB)
}
let threadBA = Thread {
    relay(input: fdB, output: fdA, delay: delay, slots: slots, slotBytes: slotBytes, stats: statsBA)
}
threadAB.start()
threadBA.start()
print("link-emulator ready a=\(options.deviceA) b=\(options.deviceB) delay-ms=\(Double(delay) / 1e6)")
fflush(nil)

var received: Int32 = 0
sigwait(&stopSignals, &received)
for (name, stats) in [
    ("\(options.deviceA)->\(options.deviceB)", statsAB), ("\(options.deviceB)->\(options.deviceA)", statsBA),
] {
    print(
        "link-emulator stats \(name) packets=\(stats.packets) bytes=\(stats.bytes) queue-drops=\(stats.queueDrops) write-errors=\(stats.writeErrors) deepest-queue=\(stats.deepestQueue)"
    )
}
fflush(nil)
exit(0)
