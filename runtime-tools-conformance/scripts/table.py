#!/usr/bin/env python3
"""Summarise runtime-tools-conformance TAP files into the markdown table of
docs/conformance.md: one row per (rule field, case), passes/total per runtime.

usage: table.py runc=FILE crun=FILE jinn=FILE
"""
import re
import sys
from collections import OrderedDict

LINE = re.compile(r'^(not )?ok \d+ - ([^:]+): (.*?)( # SKIP (.*))?$')


def field(rule):
    return rule.split(':', 1)[0].strip()


def load(path):
    rows = OrderedDict()
    for l in open(path):
        m = LINE.match(l.rstrip('\n'))
        if not m:
            continue
        failed, case, rule, skip = m.group(1), m.group(2), m.group(3), m.group(4)
        # Checker cases share most rules: one row per field over all of them.
        key = (field(rule), 'config-*' if case.startswith('config-') else case)
        r = rows.setdefault(key, [0, 0, 0, set()])  # pass, fail, skip, cases
        r[3].add(case)
        r[2 if skip else 1 if failed else 0] += 1
    return rows


def cell(r):
    if r is None:
        return '–'
    p, f, s, _ = r
    out = f'{p}/{p + f}'
    if f:
        out += f' **{f} fail**'
    if s:
        out += f' ({s} skip)'
    return out


def main():
    runs = OrderedDict(a.split('=', 1) for a in sys.argv[1:])
    data = {k: load(v) for k, v in runs.items()}
    keys = OrderedDict()
    for d in data.values():
        for k in d:
            keys[k] = None
    print('| rule (field) | case | ' + ' | '.join(runs) + ' |')
    print('|---|---|' + '---|' * len(runs))
    all_cfg = set()
    for d in data.values():
        for (_, c), r in d.items():
            if c == 'config-*':
                all_cfg |= r[3]
    for (f, key_case) in keys:
        case = key_case
        if case == 'config-*':
            cases = set()
            for d in data.values():
                cases |= d.get((f, case), [0, 0, 0, set()])[3]
            if cases == all_cfg:
                case = f'every config-* case ({len(cases)})'
            else:
                case = ', '.join(sorted(cases))
        print(f'| {f} | {case} | ' + ' | '.join(cell(data[r].get((f, key_case))) for r in runs) + ' |')


main()
