"""Leave-one-out and user splits: training sequences plus held-out queries.

A query is one user's history and the single item that followed it (the target). Users
are row indices into the ``SequenceData`` a split came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .sequences import SequenceData, Sequences, offsets_from_lengths


@dataclass(frozen=True)
class EvalSet:
    """Queries for evaluation: each row's history and the single held-out target.

    ``users`` are row indices into the ``SequenceData`` the split came from.
    """

    histories: Sequences
    targets: np.ndarray  # (n,) int64 internal ids
    users: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.targets)

    def select(self, rows: np.ndarray) -> EvalSet:
        """The queries at positions ``rows`` (in that order)."""
        rows = np.asarray(rows, dtype=np.int64)
        return EvalSet(self.histories.select(rows), self.targets[rows], self.users[rows])

    def session(self, n: int) -> EvalSet:
        """The same queries as anonymous sessions: only each history's last ``n`` items.

        Whatever came before is unknown, so it is neither fed to a model nor masked.
        """
        return EvalSet(self.histories.keep_last(n), self.targets, self.users)

    def sample(self, n: int, seed: int) -> EvalSet:
        """A fixed random sample of ``n`` queries (all of them when ``n`` is 0 or larger),
        in their original order; the same ``seed`` always picks the same queries."""
        if n <= 0 or n >= len(self):
            return self
        rows = np.random.default_rng(seed).choice(len(self), size=n, replace=False)
        return self.select(np.sort(rows))

    def head(self, n: int) -> EvalSet:
        """The first ``n`` queries (a quick estimate on a subset)."""
        return self.select(np.arange(min(n, len(self))))


@dataclass(frozen=True)
class Split:
    """Training sequences plus validation and test queries."""

    train: Sequences
    valid: EvalSet
    test: EvalSet
    n_items: int
    unevaluated_users: int = 0

    def with_validation_in_train(self) -> Split:
        """This split with each validation target appended to its user's training row.

        For the final model of a leave-one-out run: trained on training + validation items
        (for a number of epochs chosen on validation), tested on the same test queries.
        Its ``valid`` queries are kept but no longer held out, so they must not be used.
        """
        users, train = self.valid.users, self.train
        inside = len(users) == len(np.unique(users)) and users.max(initial=-1) < len(train)
        if not inside or not np.array_equal(train.select(users).items, self.valid.histories.items):
            raise ValueError(
                "with_validation_in_train needs a leave-one-out split (validation queries "
                "that continue their users' training rows)"
            )
        items = np.insert(train.items, train.offsets[users + 1], self.valid.targets)
        lengths = train.lengths.copy()
        lengths[users] += 1
        grown = Sequences(items.astype(np.int32), offsets_from_lengths(lengths))
        return Split(grown, self.valid, self.test, self.n_items, self.unevaluated_users)


def leave_one_out_split(data: SequenceData) -> Split:
    """Last item = test, second-to-last = validation, the rest = training.

    Validation queries see the training part; test queries see training + validation
    item. Users with fewer than 3 items cannot give both held-out items: they stay in
    training whole and are counted in ``unevaluated_users``.
    """
    seqs = data.sequences
    evaluable = seqs.lengths >= 3
    users = np.flatnonzero(evaluable)
    train = seqs.keep_first(seqs.lengths - np.where(evaluable, 2, 0))
    chosen = seqs.select(users)
    valid = EvalSet(chosen.drop_last(2), chosen.last(2), users)
    test = EvalSet(chosen.drop_last(1), chosen.last(1), users)
    return Split(train, valid, test, data.n_items, int((~evaluable).sum()))


def selection_split(data: SequenceData) -> Split:
    """Leave-one-out on every sequence without its last (test) item: for choosing settings.

    Its test queries are the validation queries of ``leave_one_out_split(data)`` (same
    histories, same targets) and its early-stopping queries are the items before them, so
    a setting, a refit or an ensemble can be scored on the validation items exactly as it
    will be tested later, while the real test items stay unseen.
    """
    shorter = SequenceData(
        data.sequences.drop_last(1), data.user_ids, data.item_ids, data.dropped_users
    )
    return leave_one_out_split(shorter)


def user_split(
    data: SequenceData, frac: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0
) -> Split:
    """Split *users* into train/validation/test groups.

    Training uses the training users' full sequences; a validation or test user's query
    is their sequence without the last item, which is the target.
    """
    if len(frac) != 3 or abs(sum(frac) - 1) > 1e-6 or min(frac) < 0:
        raise ValueError(f"frac must be three non-negative fractions summing to 1, got {frac}")
    order = np.random.default_rng(seed).permutation(data.n_users)
    n_train = round(frac[0] * data.n_users)
    n_valid = round(frac[1] * data.n_users)
    groups = np.split(order, [n_train, n_train + n_valid])
    seqs = data.sequences

    def queries(rows: np.ndarray) -> EvalSet:
        rows = np.sort(rows)
        chosen = seqs.select(rows)
        return EvalSet(chosen.drop_last(1), chosen.last(1), rows)

    return Split(
        seqs.select(np.sort(groups[0])), queries(groups[1]), queries(groups[2]), data.n_items
    )
