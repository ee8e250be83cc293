#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed corpora for the fuzz targets (docs/reliability.md).

  gen_seeds.py static            rewrite test/fuzz/seeds/{nl,conntrack}/ (checked in)
  gen_seeds.py golden DIR        decode test/golden/*.hex into binary messages in DIR (tc seeds)

The nl seeds follow the input format described at the top of fuzz_nl.c; the conntrack seeds are
ctnetlink messages as the kernel sends them (fuzz_conntrack.c).
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_MULTI, NLM_F_DUMP_INTR = 0x2, 0x10
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
RTM_NEWTFILTER, RTM_GETLINK = 44, 18
NLA_F_NESTED = 0x8000


def align(b):
    return b + b'\0' * (-len(b) % 4)


def attr(t, payload):
    return align(struct.pack('<HH', 4 + len(payload), t) + payload)


def nest(t, *attrs, flag=True):
    return attr(t | (NLA_F_NESTED if flag else 0), b''.join(attrs))


def nlmsg(t, flags, seq, payload):
    return struct.pack('<IHHII', 16 + len(payload), t, flags, seq, 0) + payload


def ack(seq, error=0, msg=None, off=0, req_type=RTM_GETLINK):
    flags = NLM_F_CAPPED
    tlvs = b''
    if msg is not None or off:
        flags |= NLM_F_ACK_TLVS
        if msg is not None:
            tlvs += attr(1, msg.encode() + b'\0')
        if off:
            tlvs += attr(2, struct.pack('<I', off))
    req = struct.pack('<IHHII', 16, req_type, 5, seq, 0)
    return nlmsg(NLMSG_ERROR, flags, seq, struct.pack('<i', error) + req + tlvs)


def done(seq, error=0, flags=NLM_F_MULTI, msg=None):
    tlvs = b''
    if msg is not None:
        flags |= NLM_F_ACK_TLVS
        tlvs = attr(1, msg.encode() + b'\0')
    return nlmsg(NLMSG_DONE, flags, seq, struct.pack('<i', error) + tlvs)


def dgram(data, ctl=0x80):
    return struct.pack('<BH', ctl, len(data)) + data


def nl_input(mode, header, dgrams):
    return bytes([mode, len(header)]) + bytes(header) + b''.join(dgrams)


def golden(name):
    with open(os.path.join(ROOT, 'test', 'golden', name)) as f:
        lines = [l for l in f.read().splitlines() if not l.startswith('cmd ')]
    return bytes.fromhex(''.join(re.findall(r'[0-9a-fA-F]+', ' '.join(lines))))


def as_reply(msg, seq, flags=0):
    """A golden request turned into an RTM_NEWTFILTER reply (echo or dump part)."""
    length, _, _, _, pid = struct.unpack_from('<IHHII', msg)
    return struct.pack('<IHHII', length, RTM_NEWTFILTER, flags, seq, pid) + msg[16:]


def nl_seeds():
    s = {}
    # mode 0: the extack reader
    s['error-ack'] = bytes([0]) + ack(1)
    s['error-extack'] = bytes([0]) + ack(1, -22, 'Invalid thing', 36)
    s['error-uncapped'] = bytes([0]) + nlmsg(
        NLMSG_ERROR, NLM_F_ACK_TLVS, 1,
        struct.pack('<i', -95) + struct.pack('<IHHII', 24, 18, 5, 1, 0) + b'\0' * 8 +
        attr(1, b'Not here\0'))
    s['error-done'] = bytes([0]) + done(1, -4, msg='Dump interrupted') + done(2)
    # mode 1: batches (header: fail_send_at, n, window, retries, cost, op cfgs)
    s['batch-acks'] = nl_input(1, [0, 3, 0, 1, 0, 0x08, 0x18, 0x00],
                               [dgram(ack(0)), dgram(ack(1, -17, 'File exists')),
                                dgram(ack(2))])
    s['batch-overrun'] = nl_input(1, [0, 4, 2, 2, 1, 0x08, 0x0c, 0x20, 0x02],
                                  [dgram(ack(0)), dgram(b'', ctl=1), dgram(ack(1)),
                                   dgram(ack(2)), dgram(ack(3)), dgram(ack(4)),
                                   dgram(ack(5))])
    s['batch-echo'] = nl_input(1, [0, 2, 0, 0, 1, 0x08, 0x08],
                               [dgram(nlmsg(RTM_GETLINK + 2, 0, 0, b'\0' * 16) + ack(0)),
                                dgram(ack(1, -1))])
    # mode 2: dumps (header: fail_send_at, msg cfg, tries, ext)
    part = nlmsg(RTM_GETLINK - 2, NLM_F_MULTI, 0, b'\0' * 16)
    s['dump'] = nl_input(2, [0, 0, 0, 1], [dgram(part + part), dgram(done(0))])
    s['dump-intr'] = nl_input(2, [0, 0, 2, 1],
                              [dgram(nlmsg(16, NLM_F_MULTI | NLM_F_DUMP_INTR, 0, b'')),
                               dgram(done(0)), dgram(part), dgram(done(1))])
    s['dump-error'] = nl_input(2, [0, 2, 0, 1], [dgram(part + part + part),
                                                 dgram(done(0, -95, msg='no'))])
    # mode 3: tc dumps (header: fail_send_at, cfg), ingress then egress
    names = ['ct_chain0_v4.hex', 'ct_chain0_v6.hex', 'flow_orig_snat.hex',
             'skip_sw_cookie.hex', 'pedit_misc_v6.hex', 'egress_mirror.hex']
    for i, name in enumerate(names):
        m = golden(name)
        s['tcdump-' + name[:-4]] = nl_input(
            3, [0, 3], [dgram(as_reply(m, 0, NLM_F_MULTI)), dgram(done(0)),
                        dgram(as_reply(m, 1, NLM_F_MULTI) + done(1))])
    # mode 4: replace with echo (header: fail_send_at, n, want_out, rule cfgs)
    for i, name in enumerate(names[:3]):
        m = golden(name)
        s['replace-' + name[:-4]] = nl_input(
            4, [0, 1, 1, i], [dgram(as_reply(m, 0) + ack(0, req_type=RTM_NEWTFILTER))])
    s['get'] = nl_input(6, [0, 2, 1, 0, 0x10],
                        [dgram(as_reply(golden('get.hex'), 0) + ack(0)), dgram(ack(1, -2))])
    s['delete'] = nl_input(5, [0, 2, 0, 0, 0], [dgram(ack(0)), dgram(ack(1, -2, 'gone'))])
    return s


# ---- ctnetlink ----

CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_STATUS, CTA_PROTOINFO, CTA_HELP = 1, 2, 3, 4, 5
CTA_TIMEOUT, CTA_MARK, CTA_ID, CTA_ZONE = 7, 8, 12, 18


def be32(v):
    return struct.pack('>I', v)


def tuple_(family, src, dst, proto, sport, dport):
    if family == 2:
        ip = attr(1, bytes(src)) + attr(2, bytes(dst))
    else:
        ip = attr(3, bytes(src)) + attr(4, bytes(dst))
    pr = attr(1, bytes([proto]))
    if sport is not None:
        pr += attr(2, struct.pack('>H', sport)) + attr(3, struct.pack('>H', dport))
    return nest(1, ip) + nest(2, pr)


def ct_msg(family, orig, reply, status, extra=b'', msg_type=0, flags=0):
    payload = struct.pack('<BBH', family, 0, 0)
    payload += nest(CTA_TUPLE_ORIG, tuple_(*orig))
    payload += nest(CTA_TUPLE_REPLY, tuple_(*reply))
    payload += attr(CTA_STATUS, be32(status)) + extra
    return nlmsg((1 << 8) | msg_type, flags, 0, payload)


def ct_seeds():
    a = [10, 0, 0, 2]
    b = [192, 0, 2, 1]
    wan = [198, 51, 100, 7]
    a6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [2]
    b6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [9]
    tcp_est = nest(CTA_PROTOINFO, nest(1, attr(1, bytes([3]))))
    common = attr(CTA_TIMEOUT, be32(431999)) + attr(CTA_MARK, be32(7)) + \
        attr(CTA_ID, be32(0x1234)) + attr(CTA_ZONE, struct.pack('>H', 0))
    s = {}
    tcp = ct_msg(2, (2, a, b, 6, 40000, 443), (2, b, wan, 6, 443, 40000),
                 0x2 | 0x4 | 0x8 | 0x10, tcp_est + common)
    udp6 = ct_msg(10, (10, a6, b6, 17, 5353, 53), (10, b6, a6, 17, 53, 5353),
                  0x2 | 0x8, common, msg_type=0)
    helper = ct_msg(2, (2, a, b, 6, 40001, 21), (2, b, a, 6, 21, 40001), 0x2 | 0x4 | 0x8,
                    tcp_est + nest(CTA_HELP, attr(1, b'ftp\0')) + common)
    icmp = ct_msg(2, (2, a, b, 1, None, None), (2, b, a, 1, None, None), 0x8, common)
    offload = ct_msg(2, (2, a, b, 17, 1000, 2000), (2, b, a, 17, 2000, 1000),
                     0x2 | 0x4 | 0x8 | (1 << 14), common)
    for name, m in [('tcp-snat', tcp), ('udp6', udp6), ('helper', helper), ('icmp', icmp),
                    ('offload', offload)]:
        s[name + '-nlmsg'] = bytes([0x00 | (1 << 3)]) + m  # nfct_nlmsg_parse, UPDATE
        s[name + '-event'] = bytes([0x01 | (0 << 1) | (3 << 3)]) + m  # nfct_parse_conntrack
    return s


def write(dirname, seeds):
    os.makedirs(dirname, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(dirname, name), 'wb') as f:
            f.write(data)


def main():
    if len(sys.argv) == 2 and sys.argv[1] == 'static':
        write(os.path.join(HERE, 'seeds', 'nl'), nl_seeds())
        write(os.path.join(HERE, 'seeds', 'conntrack'), ct_seeds())
    elif len(sys.argv) == 3 and sys.argv[1] == 'golden':
        gdir = os.path.join(ROOT, 'test', 'golden')
        write(sys.argv[2], {n[:-4]: golden(n) for n in sorted(os.listdir(gdir))
                            if n.endswith('.hex')})
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
