"""Kata 08 variants: classic final-exam mistakes, a forbidden shortcut, correct alternatives."""

import torch

from kata.instructor.catalog import alternative, cheat, mistake


@mistake("normalize", "divides by the variance instead of the standard deviation",
         caught_by=["test_normalize_matches_the_formula"],
         explanation=("std is the standard deviation: divide by std itself, not by its square "
                      "(the variance)."))
def normalize_by_variance(x, mean, std):
    return (x - mean) / std**2


@mistake("predict", "drops the last, smaller batch",
         caught_by=["test_predict_takes_argmax_in_batches_without_gradients"],
         explanation=("len(x) is rarely a multiple of batch_size: the rows of the last, smaller "
                      "batch need predictions too."))
def predict_dropping_the_last_batch(model, x, batch_size=1024):
    with torch.no_grad():
        return torch.cat([model(x[start:start + batch_size]).argmax(dim=1)
                          for start in range(0, len(x) - batch_size + 1, batch_size)]
                         or [torch.zeros(0, dtype=torch.long)])


@mistake("predict", "runs the model with gradients on",
         caught_by=["test_predict_takes_argmax_in_batches_without_gradients"],
         explanation=("Prediction needs no gradients: under torch.no_grad() no graph is built, "
                      "which saves memory and time."))
def predict_with_gradients(model, x, batch_size=1024):
    return torch.cat([model(x[start:start + batch_size]).argmax(dim=1)
                      for start in range(0, len(x), batch_size)])


@mistake("train_mlp", "uses a learning rate 100 times too small for four epochs",
         caught_by=["test_exam_reaches_the_lessons_test_accuracy"],
         explanation=("With a learning rate 100 times too small, four epochs barely move the "
                      "weights: the lesson's recipe reaches 97%."))
def train_mlp_too_slowly(x, y, device):
    torch.manual_seed(0)
    return _train(mlp(), x, y, device, lr=0.0002, epochs=4)


@cheat("train_logistic_regression", "trains with torch.optim.SGD", rule="no_library_optim",
       caught_by=["test_exam_reaches_the_lessons_test_accuracy"])
def train_logistic_regression_with_torch(x, y, device):
    model = LogReg().to(device)
    x, y = x.to(device), y.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.005, momentum=0.9)
    fit(model, nll_loss, opt, DataLoader(Dataset(x, y), batch_size=64, shuffle=True), epochs=2)
    return model


@alternative("predict", "splits x with torch.split and concatenates the argmaxes")
def predict_by_split(model, x, batch_size=1024):
    with torch.no_grad():
        return torch.cat([model(chunk).argmax(1) for chunk in x.split(batch_size)])


@alternative("normalize", "uses Tensor.sub and Tensor.div")
def normalize_by_methods(x, mean, std):
    return x.sub(mean).div(std)
