"""Instructors' solutions for 09_per_layer_choices_and_repair.ipynb."""


def pareto_front(layers):
    front = [(0.0, 0.0, ())]  # partial allocations over the layers seen so far
    for choices in layers:
        extended = sorted((c + cost, e + err, bits + (b,)) for c, e, bits in front for b, cost, err in choices)
        front, record = [], float("inf")
        for c, e, bits in extended:  # by cost, then error: keep the strict error records
            if e < record - 1e-12:
                front.append((c, e, bits))
                record = e
    return front


def _greedy(layers):  # lowers the layer saving most cost per unit error: not exact on non-convex curves
    choice = [max(range(len(ch)), key=lambda i: ch[i][1]) for ch in layers]
    total = lambda: (sum(layers[l][choice[l]][1] for l in range(len(layers))),
                     sum(layers[l][choice[l]][2] for l in range(len(layers))),
                     tuple(layers[l][choice[l]][0] for l in range(len(layers))))
    points = [total()]
    while True:
        best = None
        for l, ch in enumerate(layers):
            cur = ch[choice[l]]
            for i, (b, c, e) in enumerate(ch):
                if c < cur[1]:
                    rate = (cur[1] - c) / max(e - cur[2], 1e-12)
                    if best is None or rate > best[0]:
                        best = (rate, l, i)
        if best is None:
            break
        choice[best[1]] = best[2]
        points.append(total())
    points.sort()
    front, record = [], float("inf")
    for p in points:
        if p[1] < record - 1e-12:
            front.append(p)
            record = p[1]
    return front


def _no_cost_merge(layers):  # keeps several allocations of one cost
    front = [(0.0, 0.0, ())]
    for choices in layers:
        front = sorted((c + cost, e + err, bits + (b,)) for c, e, bits in front for b, cost, err in choices)
    return front


def _unsorted_records(layers):  # right set, reversed order
    return list(reversed(pareto_front(layers)))


WRONG = {"pareto_front": [_greedy, _no_cost_merge, _unsorted_records]}
