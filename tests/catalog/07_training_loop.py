"""Kata 07 variants: classic training-loop mistakes, forbidden shortcuts, correct alternatives."""

import torch

from kata.instructor.catalog import alternative, cheat, mistake


@mistake("nll_loss", "indexes log_probs[:, targets], an n x n table, and averages all of it",
         caught_by=["test_nll_loss_matches_torch"],
         explanation=("log_probs[:, targets] is every row at every target; the loss needs one "
                      "entry per row, the row's own target."))
def nll_loss_with_a_table(log_probs, targets):
    return -log_probs[:, targets].mean()


@mistake("nll_loss", "forgets the minus sign", caught_by=["test_nll_loss_matches_torch"],
         explanation=("Log-probabilities are at most 0: the loss is their negative mean, so that "
                      "it goes down as the model gets better."))
def nll_loss_without_minus(log_probs, targets):
    return log_probs[torch.arange(len(targets)), targets].mean()


@mistake("accuracy", "takes the argmax over the wrong axis",
         caught_by=["test_accuracy_is_the_fraction_of_rows_argmax_equals_target"],
         explanation=("Each row holds one example's scores: its prediction is the argmax along "
                      "dim=1, over the classes."))
def accuracy_over_columns(outputs, targets):
    return (outputs.argmax(dim=0)[:len(targets)] == targets).float().mean().item()


@mistake("SGD", "ignores momentum", caught_by=["test_sgd_follows_torch_sgd_step_for_step"],
         explanation=("With momentum, each step moves by the velocity, v = momentum * v + "
                      "gradient, not by the gradient alone."))
class SGDWithoutMomentum(SGD):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, 0.0, weight_decay)


@mistake("SGD", "keeps the iterator it was given, which is empty after the first step",
         caught_by=["test_sgd_follows_torch_sgd_step_for_step"],
         explanation=("model.parameters() is a one-pass generator: keep a list of it, or the "
                      "second step finds nothing to update."))
class SGDKeepingTheIterator(SGD):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__([], lr, momentum, weight_decay)
        self.given = params

    def step(self):
        self.params = list(self.given)
        self.velocities = self.velocities or [None] * len(self.params)
        super().step()


@mistake("SGD", "adds weight decay after the momentum instead of to the gradient",
         caught_by=["test_sgd_follows_torch_sgd_step_for_step"],
         explanation=("Weight decay is part of the gradient: add weight_decay * p before the "
                      "momentum, as torch.optim.SGD does."))
class SGDDecayingLate(SGD):
    def step(self):
        with torch.no_grad():
            for index, p in enumerate(self.params):
                if p.grad is None:
                    continue
                v = self.velocities[index]
                v = p.grad.clone() if v is None else v.mul_(self.momentum).add_(p.grad)
                self.velocities[index] = v
                p.sub_(self.lr * (v + self.weight_decay * p))


@mistake("fit", "forgets zero_grad, so gradients pile up from batch to batch",
         caught_by=["test_fit_trains_exactly_as_the_lesson_loop_does",
                    "test_fit_clears_gradients_before_each_backward_and_validates_without_them"],
         explanation=("backward() adds to p.grad: without zero_grad each step follows the sum of "
                      "every gradient so far."))
def fit_without_zero_grad(model, loss_fn, opt, train_dl, epochs=1, valid_dl=None, log_every=100):
    history = History()
    for _ in range(epochs):
        for xb, yb in train_dl:
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            history.train_loss.append(loss.item())
        if valid_dl is not None:
            valid_loss, valid_accuracy = _evaluate(model, loss_fn, valid_dl)
            history.valid_loss.append(valid_loss)
            history.valid_accuracy.append(valid_accuracy)
    return history


@mistake("fit", "validates with gradients on",
         caught_by=["test_fit_clears_gradients_before_each_backward_and_validates_without_them"],
         explanation=("Validation needs no gradients: under torch.no_grad() it builds no graph, "
                      "which saves memory and time."))
def fit_validating_with_gradients(model, loss_fn, opt, train_dl, epochs=1, valid_dl=None, log_every=100):
    history = History()
    for _ in range(epochs):
        for xb, yb in train_dl:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            history.train_loss.append(loss.item())
        if valid_dl is not None:
            total_loss = total_correct = count = 0.0
            for xb, yb in valid_dl:
                out = model(xb)
                total_loss += loss_fn(out, yb).item() * len(yb)
                total_correct += accuracy(out, yb) * len(yb)
                count += len(yb)
            history.valid_loss.append(total_loss / count)
            history.valid_accuracy.append(total_correct / count)
    return history


@cheat("nll_loss", "calls torch.nn.functional.nll_loss", rule="no_library_loss",
       caught_by=["test_nll_loss_matches_torch"])
def nll_loss_by_torch(log_probs, targets):
    return torch.nn.functional.nll_loss(log_probs, targets)


@cheat("SGD", "hands the step to torch.optim.SGD", rule="no_library_optim",
       caught_by=["test_sgd_follows_torch_sgd_step_for_step"])
class SGDFromTorch(SGD):
    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__([], lr)
        self.inner = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def step(self):
        self.inner.step()


@alternative("nll_loss", "gathers each row's target entry")
def nll_loss_by_gather(log_probs, targets):
    if log_probs.dim() != 2 or len(targets) != len(log_probs):
        raise ValueError(f"log_probs {tuple(log_probs.shape)} and targets {tuple(targets.shape)} do not fit")
    return -log_probs.gather(1, targets[:, None]).mean()


@alternative("SGD", "keeps velocities in a dict keyed by parameter, zero_grad zeroes in place")
class SGDWithVelocityDict(SGD):
    def step(self):
        if not isinstance(self.velocities, dict):
            self.velocities = {}
        with torch.no_grad():
            for p in self.params:
                if p.grad is None:
                    continue
                d_p = p.grad.add(p, alpha=self.weight_decay)
                if self.momentum:
                    if p in self.velocities:
                        self.velocities[p].mul_(self.momentum).add_(d_p)
                    else:
                        self.velocities[p] = d_p.clone()
                    d_p = self.velocities[p]
                p.add_(d_p, alpha=-self.lr)

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()


@mistake("fit", "averages the validation loss and accuracy over batches, not over examples",
         caught_by=["test_fit_reports_validation_loss_and_accuracy_over_all_examples"],
         explanation=("A smaller last batch would weigh as much as a full one: weight each batch "
                      "by its size and divide by all examples."))
def fit_averaging_over_batches(model, loss_fn, opt, train_dl, epochs=1, valid_dl=None, log_every=100):
    history = History()
    for _ in range(epochs):
        for xb, yb in train_dl:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            history.train_loss.append(loss.item())
        if valid_dl is not None:
            losses, accuracies = [], []
            with torch.no_grad():
                for xb, yb in valid_dl:
                    out = model(xb)
                    losses.append(loss_fn(out, yb).item())
                    accuracies.append(accuracy(out, yb))
            history.valid_loss.append(sum(losses) / len(losses))
            history.valid_accuracy.append(sum(accuracies) / len(accuracies))
            print(f"valid loss {history.valid_loss[-1]:.4f}, accuracy {history.valid_accuracy[-1]:.4f}")
    return history


@mistake("fit", "keeps the loss tensors, graphs and all, in History instead of floats",
         caught_by=["test_fit_trains_exactly_as_the_lesson_loop_does"],
         explanation=("A loss tensor keeps its whole graph alive; loss.item() is the Python float "
                      "the History should hold."))
def fit_keeping_loss_tensors(model, loss_fn, opt, train_dl, epochs=1, valid_dl=None, log_every=100):
    history = History()
    for _ in range(epochs):
        for xb, yb in train_dl:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            history.train_loss.append(loss)
        if valid_dl is not None:
            valid_loss, valid_accuracy = _evaluate(model, loss_fn, valid_dl)
            history.valid_loss.append(valid_loss)
            history.valid_accuracy.append(valid_accuracy)
            print(f"valid loss {valid_loss:.4f}, accuracy {valid_accuracy:.4f}")
    return history


@alternative("SGD", "updates p.data -= lr * v, the lesson's idiom, without torch.no_grad()")
class SGDThroughData(SGD):
    def step(self):
        for index, p in enumerate(self.params):
            if p.grad is None:
                continue
            d_p = p.grad.data + self.weight_decay * p.data
            if self.momentum:
                v = self.velocities[index]
                d_p = d_p.clone() if v is None else self.momentum * v + d_p
                self.velocities[index] = d_p
            p.data -= self.lr * d_p


@alternative("SGD", "steps each parameter in a method that receives it: p -= lr * v under torch.no_grad()")
class SGDWithAnUpdateMethod(SGD):
    def step(self):
        with torch.no_grad():
            for index, p in enumerate(self.params):
                if p.grad is not None:
                    self.update(p, index)

    def update(self, p, index):
        d_p = p.grad + self.weight_decay * p
        if self.momentum:
            v = self.velocities[index]
            d_p = d_p.clone() if v is None else self.momentum * v + d_p
            self.velocities[index] = d_p
        p -= self.lr * d_p


@alternative("fit", "prints epoch, loss and accuracy as bare values, as fastai's fit does "
                    "(tensors summed per example)")
def fit_printing_like_fastai(model, loss_fn, opt, train_dl, epochs=1, valid_dl=None, log_every=100):
    history = History()
    for epoch in range(epochs):
        for xb, yb in train_dl:
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            history.train_loss.append(loss.item())
        if valid_dl is not None:
            tot_loss, tot_acc, count = 0.0, 0.0, 0
            with torch.no_grad():
                for xb, yb in valid_dl:
                    pred = model(xb)
                    tot_loss += loss_fn(pred, yb) * len(yb)
                    tot_acc += (pred.argmax(dim=1) == yb).float().mean() * len(yb)
                    count += len(yb)
            print(epoch, tot_loss / count, tot_acc / count)
            history.valid_loss.append((tot_loss / count).item())
            history.valid_accuracy.append((tot_acc / count).item())
    return history


@alternative("fit", "prints the accuracy as a percentage, and nothing per batch")
def fit_printing_percentages(model, loss_fn, opt, train_dl, epochs=1, valid_dl=None, log_every=100):
    history = History()
    for epoch in range(epochs):
        for xb, yb in train_dl:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            history.train_loss.append(loss.item())
        if valid_dl is not None:
            valid_loss, valid_accuracy = _evaluate(model, loss_fn, valid_dl)
            history.valid_loss.append(valid_loss)
            history.valid_accuracy.append(valid_accuracy)
            print(f"Epoch {epoch}: val_loss={valid_loss:.3f}, acc={100 * valid_accuracy:.1f}%")
    return history


@alternative("SGD", "updates p.data -= lr * v in a private helper method that receives p and v")
class SGDWithAPrivateDataUpdate(SGD):
    def step(self):
        for index, p in enumerate(self.params):
            if p.grad is not None:
                self._update(p, self._velocity(index, p.grad.data + self.weight_decay * p.data))

    def _velocity(self, index, d_p):
        if self.momentum:
            v = self.velocities[index]
            d_p = d_p.clone() if v is None else v.mul_(self.momentum).add_(d_p)
            self.velocities[index] = d_p
        return d_p

    def _update(self, p, v):
        p.data -= self.lr * v


@cheat("nll_loss", "calls the dispatcher's kernel, torch.ops.aten.nll_loss_forward",
       rule="no_library_loss", caught_by=["test_nll_loss_matches_torch"])
def nll_loss_by_aten(log_probs, targets):
    return torch.ops.aten.nll_loss_forward(log_probs, targets, None, 1, -100)[0]


@alternative("fit", "switches the model to train() for each epoch and to eval() to validate, "
                    "as fastai's fit does")
def fit_switching_modes(model, loss_fn, opt, train_dl, epochs=1, valid_dl=None, log_every=100):
    history = History()
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            history.train_loss.append(loss.item())
        if valid_dl is not None:
            model.eval()
            valid_loss, valid_accuracy = _evaluate(model, loss_fn, valid_dl)
            history.valid_loss.append(valid_loss)
            history.valid_accuracy.append(valid_accuracy)
            print(epoch, valid_loss, valid_accuracy)
    return history
