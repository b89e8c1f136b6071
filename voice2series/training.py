"""Training: the reprogrammed model and the loop that learns its program."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .sources import get_source

__all__ = ["ReprogrammedModel", "resolve_device", "train_model", "predict_logits"]


class ReprogrammedModel(nn.Module):
    """Input program → frozen source → label mapping.

    Pickles without the weights of a registered source (they are rebuilt from
    the installed package), and always onto the CPU.
    """

    def __init__(self, program, source, mapping):
        super().__init__()
        self.program = program
        self.source = source
        self.mapping = mapping

    def forward(self, placed):
        return self.mapping(self.source(self.program(placed)))

    def trained_state(self):
        """A copy of everything that training changes (not the frozen source)."""
        return {
            key: value.detach().clone()
            for key, value in self.state_dict().items()
            if not key.startswith("source.")
        }

    def __getstate__(self):
        state = self.__dict__.copy()
        modules = dict(state["_modules"])
        for name in ("program", "mapping"):
            modules[name] = modules[name].to("cpu")
        spec = self.source.spec()
        modules["source"] = {"spec": spec} if spec else self.source.to("cpu")
        state["_modules"] = modules
        return state

    def __setstate__(self, state):
        source = state["_modules"]["source"]
        if isinstance(source, dict):
            spec = dict(source["spec"])
            state["_modules"]["source"] = get_source(spec.pop("name"), **spec)
        self.__dict__.update(state)


def resolve_device(device):
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a torch device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, str | torch.device):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}.")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}.") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was asked for but CUDA is not available here; "
            "use device='cpu' or device='auto'."
        )
    return resolved


def predict_logits(model, placed, batch_size):
    """Class scores for pre-placed waveforms, in evaluation mode, without gradients.

    Every chunk is zero-padded to ``batch_size`` rows: convolution kernels pick
    their algorithm by batch size, so a fixed size makes a series' scores
    independent of which other series are predicted with it.
    """
    model.eval()
    scores = []
    with torch.no_grad():
        for chunk in torch.split(placed, batch_size):
            padded = F.pad(chunk, (0, 0, 0, batch_size - len(chunk)))
            scores.append(model(padded)[: len(chunk)])
    return torch.cat(scores)


def _evaluate(model, placed, targets, batch_size):
    logits = predict_logits(model, placed, batch_size)
    loss = F.cross_entropy(logits, targets).item()
    accuracy = (logits.argmax(dim=1) == targets).float().mean().item()
    return loss, accuracy


def _is_better(score, best):
    """Higher validation accuracy wins; equal accuracy is broken by lower loss."""
    return best is None or (score[0], -score[1]) > (best[0], -best[1])


def train_model(
    model,
    train,
    validation=None,
    *,
    learning_rate,
    weight_decay,
    batch_size,
    max_epochs,
    n_iter_no_change,
    generator,
    verbose=False,
):
    """Train the program (and a learnable mapping) with Adam.

    Parameters
    ----------
    model : ReprogrammedModel
    train : tuple of (torch.Tensor, torch.Tensor)
        Placed training waveforms and integer targets, on the model's device.
    validation : tuple of (torch.Tensor, torch.Tensor), optional
        Held-out waveforms and targets. When given, the epoch with the best
        validation accuracy (ties: lowest validation loss) is restored and
        training stops after ``n_iter_no_change`` epochs without improvement.
        Without it the last epoch is kept.
    learning_rate, weight_decay : float
        Adam's step size and L2 penalty.
    batch_size, max_epochs, n_iter_no_change : int
    generator : torch.Generator
        Shuffles the mini-batches.
    verbose : bool
        Show a progress bar over epochs.

    Returns
    -------
    history : list of dict
        One entry per epoch: ``epoch``, ``train_loss``, ``train_accuracy``,
        ``val_loss``, ``val_accuracy`` (None without validation), ``seconds``.
    best_epoch : int
        The epoch (1-based) whose state the model holds on return.
    """
    placed, targets = train
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=learning_rate, weight_decay=weight_decay)
    history, best_score, best_state, best_epoch = [], None, None, max_epochs
    epochs = tqdm(range(1, max_epochs + 1), desc="fit", unit="epoch", disable=not verbose, leave=False)
    for epoch in epochs:
        started = time.perf_counter()
        train_loss, train_accuracy = _train_one_epoch(
            model, optimizer, placed, targets, batch_size, generator
        )
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "train_accuracy": train_accuracy,
            "val_loss": None,
            "val_accuracy": None,
        }
        if validation is not None:
            val_loss, val_accuracy = _evaluate(model, *validation, batch_size)
            record.update(val_loss=val_loss, val_accuracy=val_accuracy)
            if _is_better((val_accuracy, val_loss), best_score):
                best_score, best_state, best_epoch = (val_accuracy, val_loss), model.trained_state(), epoch
        record["seconds"] = time.perf_counter() - started
        history.append(record)
        epochs.set_postfix(loss=f"{train_loss:.3f}", val_acc=record["val_accuracy"])
        if validation is not None and epoch - best_epoch >= n_iter_no_change:
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    else:
        best_epoch = len(history)
    return history, best_epoch


def _train_one_epoch(model, optimizer, placed, targets, batch_size, generator):
    model.train()
    order = torch.randperm(len(targets), generator=generator).to(targets.device)
    total_loss, correct = 0.0, 0
    for batch in torch.split(order, batch_size):
        logits = model(placed[batch])
        loss = F.cross_entropy(logits, targets[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(batch)
        correct += (logits.argmax(dim=1) == targets[batch]).sum().item()
    return total_loss / len(targets), correct / len(targets)
