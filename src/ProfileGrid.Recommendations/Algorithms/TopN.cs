namespace ProfileGrid.Recommendations.Algorithms;

/// <summary>
/// The best <c>n</c> (score, item index) pairs seen so far, in a min-heap on the caller's stack or a pooled array:
/// higher score first, then the lower item index (so that equal scores come out in item id order, the same on every
/// run and every silo).
/// </summary>
internal ref struct TopN
{
    private readonly Span<double> _scores;
    private readonly Span<int> _items;
    private int _count;

    public TopN(Span<double> scores, Span<int> items)
    {
        _scores = scores;
        _items = items;
        _count = 0;
    }

    public readonly int Capacity => _scores.Length;

    public readonly int Count => _count;

    /// <summary>True when (score, item) would enter the list: it beats the worst kept pair or there is room.</summary>
    public readonly bool WouldTake(double score, int item) =>
        _count < _scores.Length || Better(score, item, _scores[0], _items[0]);

    public void Offer(double score, int item)
    {
        if (_scores.Length == 0)
        {
            return;
        }

        if (_count < _scores.Length)
        {
            // Sift up: the root holds the worst kept pair.
            var at = _count++;
            while (at > 0)
            {
                var parent = (at - 1) / 2;
                if (!Better(_scores[parent], _items[parent], score, item))
                {
                    break;
                }

                _scores[at] = _scores[parent];
                _items[at] = _items[parent];
                at = parent;
            }

            _scores[at] = score;
            _items[at] = item;
            return;
        }

        if (!Better(score, item, _scores[0], _items[0]))
        {
            return;
        }

        var i = 0;
        while (true)
        {
            var left = 2 * i + 1;
            if (left >= _count)
            {
                break;
            }

            var worst = left + 1 < _count && Better(_scores[left], _items[left], _scores[left + 1], _items[left + 1]) ? left + 1 : left;
            if (!Better(score, item, _scores[worst], _items[worst]))
            {
                break;
            }

            _scores[i] = _scores[worst];
            _items[i] = _items[worst];
            i = worst;
        }

        _scores[i] = score;
        _items[i] = item;
    }

    /// <summary>Sorts the kept pairs best first in place and returns how many there are.</summary>
    public readonly int SortDescending()
    {
        var scores = _scores[.._count];
        var items = _items[.._count];
        // Insertion sort: n is a recommendation list's length (tens) or k neighbours.
        for (var i = 1; i < scores.Length; i++)
        {
            var s = scores[i];
            var it = items[i];
            var j = i - 1;
            while (j >= 0 && Better(s, it, scores[j], items[j]))
            {
                scores[j + 1] = scores[j];
                items[j + 1] = items[j];
                j--;
            }

            scores[j + 1] = s;
            items[j + 1] = it;
        }

        return _count;
    }

    public static bool Better(double score, int item, double otherScore, int otherItem) =>
        score > otherScore || (score == otherScore && item < otherItem);
}
