"""The lesson's recipe for MNIST logistic regression (fast.ai's SGD lesson): the numbers that
``kata mnist`` and the benchmark's epoch both train with, and kata 08's hints teach. Kata 08's
tests hold their own exam settings: the exam is the instructor's, this is the lesson's.
"""

#: Examples per mini-batch.
BATCH_SIZE = 64
#: SGD's learning rate for logistic regression.
LEARNING_RATE = 0.005
#: SGD's momentum.
MOMENTUM = 0.9
