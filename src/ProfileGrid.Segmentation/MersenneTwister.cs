namespace ProfileGrid.Segmentation;

/// <summary>
/// MT19937 drawing numbers exactly as numpy's legacy <c>numpy.random.RandomState(seed)</c> does for
/// <c>randint(n)</c> and <c>uniform()</c>, so that <see cref="KMeansClusterer"/> picks the same k-means++ seeds as
/// scikit-learn's <c>KMeans(random_state=seed)</c> and the two can be compared run for run.
/// </summary>
internal sealed class MersenneTwister
{
    private const int StateLength = 624;
    private const int Shift = 397;
    private const uint MatrixA = 0x9908b0df;
    private const uint UpperMask = 0x80000000;
    private const uint LowerMask = 0x7fffffff;

    private readonly uint[] _state = new uint[StateLength];
    private int _position;

    public MersenneTwister(uint seed)
    {
        _state[0] = seed;
        for (var i = 1; i < StateLength; i++)
        {
            _state[i] = 1812433253u * (_state[i - 1] ^ (_state[i - 1] >> 30)) + (uint)i;
        }

        _position = StateLength;
    }

    public uint NextUInt32()
    {
        if (_position >= StateLength)
        {
            Twist();
        }

        var y = _state[_position++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >> 18;
        return y;
    }

    /// <summary>A double in [0, 1) from 53 random bits, as numpy's <c>random_sample</c>.</summary>
    public double NextDouble()
    {
        var high = NextUInt32() >> 5;
        var low = NextUInt32() >> 6;
        return (high * 67108864.0 + low) / 9007199254740992.0;
    }

    /// <summary>An integer in [0, <paramref name="exclusiveMax"/>), as numpy's <c>randint</c> (masked rejection sampling).</summary>
    public int NextInt(int exclusiveMax)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(exclusiveMax, 1);
        var range = (uint)(exclusiveMax - 1);
        if (range == 0)
        {
            return 0; // numpy returns the lower bound without drawing
        }

        var mask = range;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint value;
        while ((value = NextUInt32() & mask) > range)
        {
        }

        return (int)value;
    }

    private void Twist()
    {
        int i;
        uint y;
        for (i = 0; i < StateLength - Shift; i++)
        {
            y = (_state[i] & UpperMask) | (_state[i + 1] & LowerMask);
            _state[i] = _state[i + Shift] ^ (y >> 1) ^ ((y & 1) * MatrixA);
        }

        for (; i < StateLength - 1; i++)
        {
            y = (_state[i] & UpperMask) | (_state[i + 1] & LowerMask);
            _state[i] = _state[i + Shift - StateLength] ^ (y >> 1) ^ ((y & 1) * MatrixA);
        }

        y = (_state[StateLength - 1] & UpperMask) | (_state[0] & LowerMask);
        _state[StateLength - 1] = _state[Shift - 1] ^ (y >> 1) ^ ((y & 1) * MatrixA);
        _position = 0;
    }
}
