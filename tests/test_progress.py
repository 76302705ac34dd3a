"""Epoch lines to the cell, the terminal and a log; the compact epoch table."""

import pandas as pd

from sasrec_utils.report.progress import epoch_digest, epoch_lines


def test_epoch_lines_go_to_the_log_and_not_the_cell_when_asked(tmp_path, capsys):
    log = tmp_path / "logs" / "training-log.txt"
    log.parent.mkdir()
    log.write_text("an older run\n")
    with epoch_lines(log, cell=False):
        print("epoch 1/2: loss 7.1")
        print("epoch 2/2: loss 6.9")
    print("after")
    assert log.read_text() == "epoch 1/2: loss 7.1\nepoch 2/2: loss 6.9\n"  # rewritten
    assert capsys.readouterr().out == "after\n"
    with epoch_lines():
        print("to the cell")
    assert capsys.readouterr().out == "to the cell\n"


def test_epoch_digest_keeps_first_last_spaced_and_kept_epochs():
    history = pd.DataFrame({"epoch": range(1, 21), "train_loss": [float(e) for e in range(20)]})
    digest = epoch_digest(history, best_epoch=8, rows=5)
    assert digest.index.tolist() == [1, 6, 8, 11, 15, 20]
    assert digest.loc[8, "kept"] == "kept" and (digest.drop(index=8)["kept"] == "").all()
    assert digest.loc[20, "train_loss"] == 19.0
    short = epoch_digest(history.head(2), best_epoch=2)
    assert short.index.tolist() == [1, 2]
