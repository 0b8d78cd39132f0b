"""Kata 05 variants: classic Module mistakes, a forbidden shortcut, correct alternatives.

A class variant subclasses the solution's class of the same name and changes one method.
"""

import torch
from torch import nn

from kata.instructor.catalog import alternative, cheat, mistake


@mistake("Module", "parameters() does not look into child modules",
         caught_by=["test_parameters_lists_each_registered_parameter_once_in_order"],
         explanation=("A model's layers are its children: parameters() must yield theirs too, or "
                      "the optimizer never sees them."))
class ModuleWithoutChildren(Module):
    def parameters(self):
        yield from self._parameters.values()


@mistake("Module", "parameters() yields a shared parameter once per place it is held",
         caught_by=["test_parameters_lists_each_registered_parameter_once_in_order"],
         explanation=("A parameter held in two places (tied weights) must come once, or an "
                      "optimizer would step it twice per step."))
class ModuleWithDuplicates(Module):
    def parameters(self):
        return self._all_parameters()


@mistake("Module", "registers any tensor that requires grad as a parameter",
         caught_by=["test_plain_tensors_and_other_values_are_not_parameters"],
         explanation=("Only an nn.Parameter is registered; a plain tensor is stored as it is, "
                      "even with requires_grad."))
class ModuleRegisteringTensors(Module):
    def __setattr__(self, name, value):
        if isinstance(value, torch.Tensor) and value.requires_grad:
            value = nn.Parameter(value)
        super().__setattr__(name, value)


@mistake("Module", "to() makes new Parameter objects, which an optimizer made before never sees",
         caught_by=["test_to_moves_parameters_and_keeps_them_the_same_objects"],
         explanation=("Move p.data and keep the Parameter objects: an optimizer made before to() "
                      "holds those very objects."))
class ModuleMovingCopies(Module):
    def to(self, device):
        for name, parameter in list(self._parameters.items()):
            setattr(self, name, nn.Parameter(parameter.detach().to(device)))
        for child in self._children.values():
            child.to(device)
        return self


@mistake("get_weights", "divides by the last dimension instead of the first",
         caught_by=["test_get_weights_is_standard_normal_over_the_first_dim"],
         explanation=("The lesson scales by the first dimension, the number of inputs each output "
                      "sums over."))
def get_weights_by_last_dim(*dims):
    return nn.Parameter(torch.randn(dims) / dims[-1])


@mistake("Linear", "stores the weight as (n_out, n_in), the layout of torch's nn.Linear",
         caught_by=["test_linear_matches_torch"],
         explanation=("Here weight is (n_in, n_out) and forward is x @ weight + bias, as in the "
                      "lesson; torch's nn.Linear stores the transpose."))
class LinearTransposed(Linear):
    def __init__(self, n_in, n_out):
        super().__init__(n_in, n_out)
        self.weight = get_weights(n_out, n_in)

    def forward(self, x):
        return x @ self.weight.T + self.bias


@mistake("LogReg", "returns the logits, without log-softmax",
         caught_by=["test_logreg_matches_torch_layers_with_the_same_weights"],
         explanation=("LogReg returns log-probabilities: log-softmax of the logits along the last "
                      "axis, with your log_softmax of kata 04."))
class LogRegWithoutSoftmax(LogReg):
    def forward(self, x):
        return x.reshape(x.shape[0], -1) @ self.l1_w + self.l1_b


@mistake("mlp", "forgets the ReLU, so the model is affine",
         caught_by=["test_mlp_default_sizes_and_it_is_not_affine"],
         explanation=("Without a ReLU between them, two Linear layers make one affine map: the "
                      "hidden layer adds nothing."))
def mlp_without_relu(n_in=784, n_hidden=100, n_out=10):
    return Sequential(Linear(n_in, n_hidden), Linear(n_hidden, n_out), LogSoftmax())


@mistake("ReLU", "forward zeroes x's negative entries in place, changing the caller's tensor",
         caught_by=["test_relu_matches_torch"],
         explanation=("x[x < 0] = 0 writes into the caller's tensor, which the caller (and "
                      "autograd) may still need: make a new tensor instead."))
class ReLUInPlace(ReLU):
    def forward(self, x):
        x[x < 0] = 0
        return x


@mistake("Sequential", "parameters() concatenates its layers' lists, so a layer used twice is listed twice",
         caught_by=["test_sequential_lists_a_layer_used_twice_once"],
         explanation=("A layer used twice holds one set of parameters: each must come once, or an "
                      "optimizer steps it twice per step."))
class SequentialConcatenating(Sequential):
    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


@mistake("LogReg", "takes log(softmax(logits)) with a softmax that skips the max-subtraction",
         caught_by=["test_logreg_is_finite_for_large_inputs"],
         explanation=("exp of a logit above about 88 is inf in float32, and inf / inf is NaN: "
                      "your log_softmax of kata 04 subtracts the max."))
class LogRegWithTheLessonsFirstSoftmax(LogReg):
    def forward(self, x):
        logits = x.reshape(x.shape[0], -1) @ self.l1_w + self.l1_b
        return torch.log(logits.exp() / logits.exp().sum(-1, keepdim=True))


@cheat("Module", "inherits from torch.nn.Module", rule="write_module_yourself",
       caught_by=["test_parameters_lists_each_registered_parameter_once_in_order"])
class ModuleFromTorch(nn.Module):
    pass


@cheat("LogReg", "calls torch.log_softmax", rule="no_library_softmax",
       caught_by=["test_logreg_matches_torch_layers_with_the_same_weights"])
class LogRegByTorch(LogReg):
    def forward(self, x):
        return torch.log_softmax(x.reshape(x.shape[0], -1) @ self.l1_w + self.l1_b, dim=-1)


@alternative("Module", "finds parameters and children by walking the instance's attributes")
class ModuleWalkingAttributes(Module):
    def parameters(self):
        seen = set()
        for value in vars(self).values():
            if isinstance(value, nn.Parameter) and id(value) not in seen:
                seen.add(id(value))
                yield value
        for value in vars(self).values():
            if isinstance(value, Module):
                for parameter in value.parameters():
                    if id(parameter) not in seen:
                        seen.add(id(parameter))
                        yield parameter


@alternative("LogReg", "flattens with flatten(1) and applies the LogSoftmax layer")
class LogRegWithLayers(LogReg):
    def forward(self, x):
        return LogSoftmax()(x.flatten(1) @ self.l1_w + self.l1_b)


@mistake("Module", "zero_grad() zeroes p.grad in place, which crashes on a fresh model whose gradients are None",
         caught_by=["test_zero_grad_of_a_fresh_model_does_nothing", "test_zero_grad_clears_every_gradient"],
         explanation=("p.grad is None until a backward() has run: set it to None, or zero only "
                      "the gradients that exist."))
class ModuleZeroingMissingGradients(Module):
    def zero_grad(self):
        for parameter in self.parameters():
            parameter.grad.zero_()


@alternative("Module", "zero_grad() zeroes the gradients that exist in place, and a forgotten "
                       "super().__init__ is an AttributeError worded without the parentheses")
class ModuleZeroingInPlace(Module):
    def __setattr__(self, name, value):
        if isinstance(value, (nn.Parameter, Module)) and "_children" not in vars(self):
            raise AttributeError(f"{type(self).__name__}.{name}: call super().__init__ first")
        super().__setattr__(name, value)

    def zero_grad(self):
        for parameter in self.parameters():
            if parameter.grad is not None:
                parameter.grad.zero_()


@alternative("Module", "keeps parameters and children in one registry and forgets super().__init__ "
                       "with the AttributeError of a missing attribute")
class ModuleWithOneRegistry(Module):
    def __init__(self):
        object.__setattr__(self, "_registry", {})

    def __setattr__(self, name, value):
        registry = self._registry  # AttributeError before super().__init__(), as Python words it
        registry.pop(name, None)
        if isinstance(value, (nn.Parameter, Module)):
            registry[name] = value
        object.__setattr__(self, name, value)

    def parameters(self):
        seen = set()
        own = [v for v in self._registry.values() if isinstance(v, nn.Parameter)]
        children = [v for v in self._registry.values() if isinstance(v, Module)]
        for parameter in own + [p for child in children for p in child.parameters()]:
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield parameter


# --- no_library_softmax allows products (a product cannot make a softmax), not softmaxes -------

@alternative("LogReg", "adds the bias and the product in one torch.addmm")
class LogRegByAddmm(LogReg):
    def forward(self, x):
        return log_softmax(torch.addmm(self.l1_b, x.flatten(1), self.l1_w), dim=-1)


@cheat("LogReg", "takes logsumexp from torch.logcumsumexp", rule="no_library_softmax",
       caught_by=["test_logreg_matches_torch_layers_with_the_same_weights"])
class LogRegByLogcumsumexp(LogReg):
    def forward(self, x):
        logits = x.flatten(1) @ self.l1_w + self.l1_b
        return logits - torch.logcumsumexp(logits, -1)[:, -1:]
